"""KetaClinic clinical rules: pure, typed Python with no Django import.

Every clinical decision the platform makes (scale scoring, change over time, eligibility, dose maths,
vital-sign limits, discharge readiness, schedules, identifier checks) lives in this package, and each
rule names its source: a row of ``../shared/reference/clinical.md`` (the project reference) (cited as "clinical.md §N ...")
or a DOI.  ``python -m ketaclinic.clinical`` prints the whole rulebook.

This ``__init__`` deliberately imports nothing: import the submodule you need.
"""
