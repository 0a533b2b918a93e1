"""The booster prompt rule's curve reads every score dated on the day induction ended, from that day's start: a low
score taken that morning, before the last induction dose ended, is the lowest of the span, as the core's
``relapse_after_induction`` (which works in clinic-local days) counts it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ketaclinic.clinical.outcomes import relapse_after_induction
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import Administration
from ketaclinic.reports import outcomes
from ketaclinic.reports.base import ReportFilters
from tests.reports import test_outcomes_report_counts_each_patient_once as counted
from tests.reports.test_outcomes_report_response_lasts_without_retreatment import PROMPT, _score, _steps

pytestmark = pytest.mark.django_db
clinic_of = counted.clinic_of  # the small clinic with known outcomes (the fixture)


def test_a_low_score_on_the_end_day_before_the_dose_ended_is_the_lowest_so_far(clinic_of, staff, clinic):
    # responds (20 -> 8 the day after), then 10 on day 3: +2 above 8, but +5 above the 5 of the end day's morning
    patient, order = clinic_of("Morning", ["F33.2"], "iv", [("baseline", 20, 0), (1, 8, 0), (3, 10, 0)])
    # the same without the morning score: +2, no prompt
    clinic_of("Plain", ["F33.2"], "iv", [("baseline", 20, 0), (1, 8, 0), (3, 10, 0)])
    tz, limits = clinic.tz, clinic.limits()
    end = order.sessions.order_by("-dose_ended_at").first().dose_ended_at
    local_end = timezone.localtime(end, tz)
    morning = local_end - (local_end - local_end.replace(hour=0, minute=0, second=0, microsecond=0)) / 2
    assert morning.date() == local_end.date() and morning < local_end
    _score(staff, patient, morning, 5)

    scores = [(timezone.localtime(at, tz).date(), total) for at, total in Administration.objects.filter(
        patient=patient, scale="phq9").values_list("administered_at", "total")]
    decided = relapse_after_induction("phq9", scores, measures.induction_end(patient, tz), settings=limits)
    assert decided.fired and decided.rise == 5

    report = outcomes.build(ReportFilters())
    # Morning: the prompt on day 3; Plain: censored at its last score, day 3
    assert _steps(report, PROMPT) == [(3, 2, 1, 1)]
