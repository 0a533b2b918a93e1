"""The cockpit's vitals trend is drawn from the readings the page already has: every reading of each series, the
clinic's HOLD limits for the phase (pre-dose limits before the dose), the baseline once the dose has started, and
values off the scale pinned to its edge rather than drawn outside the chart."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from django.urls import reverse
from django.utils import timezone

from ketaclinic.clinical.settings import validate_settings
from ketaclinic.treatments import vitals_trend
from tests.treatments.factories import IV, actor, book_now, make_order, ready_to_start

LIMITS = validate_settings({})


def reading(minutes, sys=None, dia=None, hr=None, spo2=None):
    return SimpleNamespace(taken_at=timezone.now() + timedelta(minutes=minutes), systolic_mmHg=sys,
                           diastolic_mmHg=dia, heart_rate_bpm=hr, spo2_percent=spo2)


def test_no_readings_no_chart():
    assert vitals_trend.build([], None, LIMITS, timezone.now(), before_dose=True) is None


def test_each_series_has_a_point_per_reading_that_has_the_value():
    rows = [reading(-30, 124, 78, 72, 98), reading(-20, 132, 84, 80, None), reading(-10, 138, 88, None, 97)]
    chart = vitals_trend.build(rows, rows[0], LIMITS, timezone.now(), before_dose=False)
    counts = {s["css"]: len(s["points"]) for s in chart["series"]}
    assert counts == {"systolic": 3, "diastolic": 3, "heart": 2, "spo2": 2}
    xs = [x for x, _ in chart["series"][0]["points"]]
    assert xs == sorted(xs) and xs[0] == vitals_trend.LEFT and xs[-1] < vitals_trend.RIGHT
    ys = [y for _, y in chart["series"][0]["points"]]
    assert ys[0] > ys[1] > ys[2]  # a rising pressure climbs the chart
    assert [b["label"] for b in chart["baselines"]] == ["baseline systolic 124", "baseline diastolic 78"]


def test_the_limits_drawn_follow_the_phase_and_the_clinics_settings():
    rows = [reading(-5, 150, 95, 80, 97)]
    before = vitals_trend.build(rows, None, LIMITS, timezone.now(), before_dose=True)
    during = vitals_trend.build(rows, None, LIMITS, timezone.now(), before_dose=False)
    pre_sys, sys_hold = LIMITS["vitals.pre_dose_systolic_hold_mmHg"], LIMITS["vitals.systolic_hold_mmHg"]
    assert f"systolic HOLD {pre_sys}" in [m["label"] for m in before["limits"]]
    assert f"systolic HOLD {sys_hold}" in [m["label"] for m in during["limits"]]
    assert f"SpO2 HOLD {LIMITS['vitals.spo2_low_hold_percent']}" in [m["label"] for m in during["limits"]]
    assert before["baselines"] == []
    stricter = validate_settings({"vitals.systolic_hold_mmHg": 170})
    chart = vitals_trend.build(rows, None, stricter, timezone.now(), before_dose=False)
    assert "systolic HOLD 170" in [m["label"] for m in chart["limits"]]


def test_values_off_the_scale_stay_on_its_edge():
    chart = vitals_trend.build([reading(-5, 260, 30, None, 70)], None, LIMITS, timezone.now(), before_dose=False)
    (sys_y,), (dia_y,), (spo2_y,) = ([y for _, y in s["points"]] for s in chart["series"])
    assert sys_y == vitals_trend.TOP["bp"][0] and dia_y == vitals_trend.TOP["bp"][1]
    assert spo2_y == vitals_trend.TOP["spo2"][1]


def test_the_cockpit_shows_the_trend_beside_the_table(patient, staff, rooms, client_for):
    from ketaclinic.treatments import services

    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms), staff)
    services.start_dose(actor=actor(staff["nurse"]), session=s)
    services.add_vitals(actor=actor(staff["nurse"]), session=s, values={"systolic_mmHg": "150", "diastolic_mmHg": "92",
                                                                         "heart_rate_bpm": "88", "spo2_percent": "96"})
    body = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert 'aria-labelledby="trend-title trend-desc"' in body and "2 readings from" in body
    assert "systolic HOLD 180" in body and "baseline systolic 124" in body
