"""Start-up checks of the folders that hold the exports: the report jobs and the FHIR bulk export each clear away
the folders of their own jobs that no longer exist (``ketaclinic.privatefiles.remove_orphan_folders``), so the
two must not share a folder, or each would take the other's live exports for leftovers."""

from __future__ import annotations

from pathlib import Path

from django.core.checks import Error, register


def _overlap(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


@register()
def export_folders_are_apart(app_configs, **kwargs):
    from ketaclinic.fhir.bulk import export_dir as fhir_exports
    from ketaclinic.reports.jobs import export_dir as report_exports

    reports, fhir = report_exports().resolve(), fhir_exports().resolve()
    if not _overlap(reports, fhir):
        return []
    return [Error(f"The report exports ({reports}) and the FHIR bulk exports ({fhir}) share a folder: the clean-up of "
                  "either would delete the other's files.",
                  hint="Give REPORT_EXPORT_DIR and FHIR_EXPORT_DIR folders of their own (by default both are under "
                       "KETACLINIC_DATA_DIR, apart).", id="ketaclinic.E002")]
