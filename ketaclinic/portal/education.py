"""Use cases of the portal's education pages (issue 18 point 3): the project's text installed as each page's first
version, a clinic admin or prescriber writing a new version, a prescriber approving one. Patients see a page's
newest approved version only; every version stays (who wrote it and when, who approved it and when)."""

from __future__ import annotations

from django.db.models import Max
from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic
from ketaclinic.inputs import control_character
from ketaclinic.portal.education_text import PAGES, SHIPPED_NOTE
from ketaclinic.portal.models import EducationPage, EducationVersion
from ketaclinic.usecases import use_case

WRITERS = (Role.CLINIC_ADMIN, Role.PRESCRIBER)
APPROVERS = (Role.PRESCRIBER,)  # the medical lead signs off what patients read
TITLE_MAX, BODY_MAX, SOURCES_MAX, NOTE_MAX = 200, 20000, 5000, 300


class EducationError(ValueError):
    def __init__(self, errors):
        self.errors = {"__all__": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


def _roles(actor: Actor, roles, what: str) -> None:
    if not set(actor.roles) & set(roles):
        raise EducationError(f"Your role may not {what}.")


def pages_for(clinic: Clinic) -> list[EducationPage]:
    """The clinic's pages, the shipped first versions installed the first time they are asked for."""
    if EducationPage.objects.filter(clinic=clinic).count() < len(PAGES):
        install_shipped(clinic=clinic)
    return list(EducationPage.objects.filter(clinic=clinic).order_by("position", "pk"))


@use_case
def install_shipped(*, clinic: Clinic) -> list[EducationVersion]:
    """Each shipped page not yet in the clinic, with the project's text as version 1 (written by no one at the
    clinic, not approved)."""
    made = []
    have = set(EducationPage.objects.filter(clinic=clinic).values_list("slug", flat=True))
    for position, shipped in enumerate(PAGES):
        if shipped["slug"] in have:
            continue
        page = EducationPage.objects.create(clinic=clinic, slug=shipped["slug"], position=position)
        made.append(EducationVersion.objects.create(page=page, number=1, title=shipped["title"],
                                                    body=shipped["body"], sources=shipped["sources"],
                                                    note=SHIPPED_NOTE))
    if made:
        audit.record(Actor.system("KetaClinic education pages"), AuditAction.EDUCATION_SHIPPED, subject=clinic,
                     details={"pages": [v.page.slug for v in made]})
    return made


def published(page: EducationPage) -> EducationVersion | None:
    """The newest version a prescriber approved: what patients read (``None``: not yet reviewed)."""
    return page.versions.filter(approved_at__isnull=False).order_by("-number").first()


def _text(errors: dict, field: str, value: str, limit: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        errors[field] = "This cannot be empty."
    elif len(value) > limit:
        errors[field] = f"At most {limit} characters (this has {len(value)})."
    elif control_character(value, multiline=field in ("body", "sources")):
        errors[field] = "Remove the control character (an invisible character pasted in with the text)."
    return value


@use_case
def write_version(*, actor: Actor, page: EducationPage, title: str, body: str, sources: str,
                  note: str = "") -> EducationVersion:
    """A clinic admin or prescriber writes the page's next version; patients see it once a prescriber approves."""
    _roles(actor, WRITERS, "edit patient education")
    errors: dict[str, str] = {}
    title = _text(errors, "title", title, TITLE_MAX)
    body = _text(errors, "body", body, BODY_MAX)
    sources = _text(errors, "sources", sources, SOURCES_MAX)
    note = _text(errors, "note", note, NOTE_MAX, required=False)
    if errors:
        raise EducationError(errors)
    page = EducationPage.objects.select_for_update().get(pk=page.pk)
    number = (page.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = EducationVersion.objects.create(page=page, number=number, title=title, body=body, sources=sources,
                                              note=note, written_by=actor.user)
    audit.record(actor, AuditAction.EDUCATION_VERSION_WRITTEN, subject=version,
                 details={"page": page.slug, "version": number, "title": title, "note": note})
    return version


@use_case
def approve(*, actor: Actor, version: EducationVersion) -> EducationVersion:
    """A prescriber approves a version: patients read it from now on (until a newer one is approved)."""
    _roles(actor, APPROVERS, "approve patient education")
    v = EducationVersion.objects.select_for_update().select_related("page").get(pk=version.pk)
    if v.approved_at is not None:
        raise EducationError(f"Version {v.number} was already approved.")
    current = published(v.page)
    if current is not None and current.number > v.number:
        raise EducationError(f"Version {current.number} is newer and already approved; write a new version to "
                             "bring back older words.")
    v.approved_by, v.approved_at = actor.user, timezone.now()
    v.save(update_fields=["approved_by", "approved_at"])
    audit.record(actor, AuditAction.EDUCATION_VERSION_APPROVED, subject=v,
                 details={"page": v.page.slug, "version": v.number, "shipped": v.shipped})
    return v
