"""A rating scale posted item by item (staff entry in the clinic, the patient in the portal): the one reading of
the form and the save, whoever answers."""

from __future__ import annotations

from collections.abc import Callable

from ketaclinic.formfields import show_refusal
from ketaclinic.measures.services import MeasureError


def post_answers(form, answers: dict[str, int], save: Callable[[dict[str, int]], object]):
    """Read a posted scale form (``ScaleAnswersForm``) and save its answers with ``save(answers)``.

    Returns (the answers to show again, refusals by item id, what ``save`` returned or None when the form or the
    save refused). A refused form keeps the answers it could read on top of ``answers`` (the saved draft's)."""
    if not form.is_valid():
        answers.update(form.answers())
        return answers, form.item_errors(), None
    answers = form.answers()
    try:
        return answers, {}, save(answers)
    except MeasureError as e:
        show_refusal(form, e.errors)
        return answers, form.item_errors(), None
