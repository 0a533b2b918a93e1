"""Which report group an ICD-10-CM code, and a patient with several diagnoses, falls in.

Groups (clinical.md §5c 'ICD-10-CM' table; the codes the clinic's list holds are ``eligibility.ICD10_CODES``):

- ``bipolar``: bipolar depression, F31.- . The rows name bipolar disorder, current episode depressed: F31.30
  (mild-moderate, unspecified), F31.4 (severe without psychotic features), F31.5 (severe with psychotic
  features), F31.31 / F31.32 (mild / moderate: U), and bipolar II F31.81 (U). Every other F31 code is a bipolar
  disorder too and is grouped here, so a bipolar patient is never counted as unipolar.
- ``unipolar``: major depressive disorder, F32.- (single episode) and F33.- (recurrent), rows 'MDD, single
  episode' and 'MDD, recurrent' (C).
- ``ptsd``: F43.1- (F43.10 / F43.11 / F43.12, row 'PTSD', C).
- ``anxiety``: F41.- (row 'Generalized anxiety disorder' F41.1, S).
- ``other``: anything else (R45.851 suicidal ideations and T14.91- attempts are not a principal diagnosis: row
  'Suicidal ideations').

A patient with several diagnoses (entered-in-error ones never count) is in ONE group, the first of
:data:`PRIORITY` they have a code of: bipolar, then unipolar, then PTSD, then anxiety. Bipolar wins over
unipolar because the treatment question differs (the risk of a switch, a different evidence base); depression
wins over PTSD and anxiety because the clinic's ketamine series is given for the depression when both are
present and PHQ-9 is the scale that follows it. This is a reporting rule, not a clinical threshold.

The prefixes are exposed so the same rule runs in the database (``code__startswith`` per prefix, tested first to
last in :data:`PRIORITY`).
"""

from __future__ import annotations

from collections.abc import Iterable

#: Report group -> the ICD-10-CM code prefixes that put a code in it.
PREFIXES: dict[str, tuple[str, ...]] = {
    "bipolar": ("F31",),
    "unipolar": ("F32", "F33"),
    "ptsd": ("F43.1",),
    "anxiety": ("F41",),
}
GROUP_PREFIXES = PREFIXES  # the name the other reports look for
#: Order in which a patient's codes decide their one group.
PRIORITY: tuple[str, ...] = ("bipolar", "unipolar", "ptsd", "anxiety")
OTHER = "other"
GROUPS: tuple[str, ...] = (*PRIORITY, OTHER)

LABELS: dict[str, str] = {
    "bipolar": "Bipolar depression (F31)",
    "unipolar": "Unipolar depression (F32, F33)",
    "ptsd": "PTSD (F43.1)",
    "anxiety": "Anxiety (F41)",
    "other": "Other or none recorded",
}

#: The scale that follows each group's outcome: PCL-5 for PTSD (clinical.md §4 PCL-5 row), GAD-7 for anxiety
#: (GAD-7 row), PHQ-9 for depression and anything else (PHQ-9 row).
SCALE: dict[str, str] = {"bipolar": "phq9", "unipolar": "phq9", "ptsd": "pcl5", "anxiety": "gad7", "other": "phq9"}

SOURCE = ("clinical.md §5c 'ICD-10-CM' rows: MDD single episode F32.x and recurrent F33.x (C); bipolar, current "
          "episode depressed F31.30/F31.4/F31.5 (C; F31.31/F31.32 U) and bipolar II F31.81 (U); PTSD F43.10/11/12 "
          "(C); generalized anxiety disorder F41.1 (S)")


def _normal(code: str) -> str:
    return code.strip().upper()


def group_of_code(code: str) -> str:
    """The report group of one ICD-10-CM code ("other" when it is in none)."""
    c = _normal(code)
    for group in PRIORITY:
        if c.startswith(PREFIXES[group]):
            return group
    return OTHER


def group_of_patient(codes: Iterable[str]) -> str:
    """The one group of a patient with these (not entered-in-error) diagnosis codes: the first of
    :data:`PRIORITY` any code falls in, else "other"."""
    groups = {group_of_code(c) for c in codes}
    for group in PRIORITY:
        if group in groups:
            return group
    return OTHER


def scale_for(group: str) -> str:
    """The outcome scale of a report group."""
    return SCALE[group]
