"""How long response lasts, without retreatment: a responder who gets a booster or maintenance dose before losing
response is censored on the day of that dose (a loss seen that day or later is not an event), and the booster
prompt rule's curve (a rise above the lowest score since induction) counts each patient as the core's
``relapse_after_induction`` decides, not as the response rule does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ketaclinic.clinical.outcomes import assess_change, relapse_after_induction
from ketaclinic.measures import services as measures
from ketaclinic.measures.models import Administration, BoosterPrompt, Timing
from ketaclinic.reports import outcomes
from ketaclinic.reports.base import ReportFilters
from tests.factories import IV, actor, dosed_session
from tests.measures.conftest import phq9_total
from tests.reports import test_outcomes_report_counts_each_patient_once as counted
from tests.reports.tables import section as _section

pytestmark = pytest.mark.django_db
clinic_of = counted.clinic_of  # the small clinic with known outcomes (the fixture)

LOST = "How long response lasts"
PROMPT = "Booster prompt rule without retreatment"



def _steps(report, start: str) -> list[tuple]:
    """(day, at risk, events, censored) of each step of the curve."""
    return [r[:4] for r in _section(report, start).table.rows]


def _booster(clinic_of, staff, name: str, days_after_end: int):
    """A dose of a later order (a booster) ``days_after_end`` days after the patient's last induction session."""
    patient, order = clinic_of.made[name]
    end = order.sessions.order_by("-dose_ended_at").first().dose_ended_at
    return dosed_session(patient, staff, start=end + timedelta(days=days_after_end), rooms=clinic_of.rooms, data=IV)


def _score(staff, patient, at, total):
    measures.record_administration(actor=actor(staff["nurse"]), patient=patient, scale="phq9",
                                   answers=phq9_total(total, 0), administered_at=at, timing=Timing.AD_HOC)


def test_a_responder_boosted_before_losing_response_is_censored_at_the_booster(clinic_of, staff):
    # responds (20 -> 8), booster on day 10, then scores 15 on day 15: without the booster, a loss at day 15
    clinic_of("Boosted", ["F33.2"], "iv", [("baseline", 20, 0), (1, 8, 0), (15, 15, 0)])
    # responds (20 -> 6), scores 14 on the morning of the booster, day 12, an hour before the dose: a loss before
    # retreatment (often the very score that prompted the booster)
    patient, order = clinic_of("Same day", ["F33.2"], "iv", [("baseline", 20, 0), (1, 6, 0)])
    # responds (20 -> 8), loses response on day 5 (14 > 10, and +6 fires the prompt), boosted on day 9: a loss before retreatment
    clinic_of("Lost first", ["F33.2"], "iv", [("baseline", 20, 0), (1, 8, 0), (5, 14, 0)])
    before = outcomes.build(ReportFilters())
    assert _steps(before, LOST) == [(1, 3, 0, 1), (5, 2, 1, 0), (15, 1, 1, 0)]

    _booster(clinic_of, staff, "Boosted", 10)
    booster = _booster(clinic_of, staff, "Same day", 12)
    _score(staff, patient, booster.dose_started_at - timedelta(hours=1), 14)
    _booster(clinic_of, staff, "Lost first", 9)
    report = outcomes.build(ReportFilters())
    # Boosted: censored day 10 (not lost at 15); Same day: lost at day 12, an hour before the booster's dose;
    # Lost first: lost at day 5, before its booster
    assert _steps(report, LOST) == [(5, 3, 1, 0), (10, 2, 0, 1), (12, 1, 1, 0)]
    km = _section(report, LOST)
    assert "lost response before any retreatment: 2" in km.notes[0]
    assert "median time to loss of response: 12 days" in km.notes[0]
    assert any("Feder 2021" in n and "no longer meeting the response criteria" in n for n in km.notes)
    # the booster prompt rule's curve is censored at the same boosters (Same day: 14 is 8 above its lowest, 6)
    assert _steps(report, PROMPT) == [(5, 3, 1, 0), (10, 2, 0, 1), (12, 1, 1, 0)]


def test_the_prompt_rule_curve_decides_as_the_core_does_not_as_the_response_rule(clinic_of, staff, clinic):
    # the reviewer's two cases: 20 -> nadir 2 -> 9 (prompt fires, +7, yet still a responder: 9 <= 10);
    # 20 -> 10 -> 11 (response lost: 11 > 10, yet no prompt: +1)
    nadir, _ = clinic_of("Nadir", ["F33.2"], "iv", [("baseline", 20, 0), (1, 2, 0), (12, 9, 0)])
    edge, _ = clinic_of("Edge", ["F33.2"], "iv", [("baseline", 20, 0), (1, 10, 0), (8, 11, 0)])
    assert assess_change("phq9", 20, 9).response and not assess_change("phq9", 20, 11).response

    tz, limits = clinic.tz, clinic.limits()

    def core(patient):
        scores = [(timezone.localtime(at, tz).date(), total) for at, total in Administration.objects.filter(
            patient=patient, scale="phq9").values_list("administered_at", "total")]
        return relapse_after_induction("phq9", scores, measures.induction_end(patient, tz), settings=limits)

    assert core(nadir).fired and core(nadir).rise == 7
    assert not core(edge).fired and core(edge).rise == 1
    assert BoosterPrompt.objects.filter(patient=nadir).exists()  # the clinic was prompted for Nadir only
    assert not BoosterPrompt.objects.filter(patient=edge).exists()

    report = outcomes.build(ReportFilters())
    # the response rule: Edge lost at day 8, Nadir censored at day 12 (still responding)
    assert _steps(report, LOST) == [(8, 2, 1, 0), (12, 1, 0, 1)]
    # the prompt rule: Edge censored at day 8 (no signal), Nadir's prompt at day 12
    assert _steps(report, PROMPT) == [(8, 2, 0, 1), (12, 1, 1, 0)]
    prompt = _section(report, PROMPT)
    assert "PHQ-9 +5" in prompt.notes[1] and "Left out" not in prompt.notes[1]
    assert [s.name for s in prompt.chart.series] == ["Booster prompt rule (n=2)", "Response rule, previous section (n=2)"]

    # the rise is the clinic's setting: at +8, Nadir's +7 is no prompt
    clinic.clinical_settings = {"outcomes.relapse_rise_phq9_points": 8}
    clinic.save()
    assert _steps(outcomes.build(ReportFilters()), PROMPT) == [(8, 2, 0, 1), (12, 1, 0, 1)]


def test_responders_on_a_scale_with_no_rise_set_are_left_out_of_the_prompt_curve(clinic_of, staff, clinic):
    clinic_of("Phq", ["F33.2"], "iv", [("baseline", 20, 0), (1, 8, 0), (6, 15, 0)])
    clinic.clinical_settings = {"outcomes.relapse_rise_phq9_points": 0}
    clinic.save()
    report = outcomes.build(ReportFilters())
    assert _steps(report, LOST) == [(6, 1, 1, 0)]
    prompt = _section(report, PROMPT)
    assert prompt.table.rows == []
    assert "Left out, no rise set for their scale: PHQ-9: 1 responder." in prompt.notes[1]
