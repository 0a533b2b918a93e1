"""The cockpit's predicted level (issue 14): the curve is drawn from the ordered dose before the start and from the
dosing events the cockpit recorded once it runs (a paused, rate-changed infusion is the same schedule the engine
would be given by hand; each esketamine device at its time), every published model for the route is drawn, the
time below the clinic's level is advice beside the discharge check, and bad data gives a sentence, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.clinic import services as clinic_services
from ketaclinic.clinical import pk
from ketaclinic.clinical.dosing import ESKETAMINE_DEVICE_MG
from ketaclinic.patients.services import mark_measurement_entered_in_error
from ketaclinic.treatments import predictions, services
from tests.factories import (
    ESK,
    IM,
    IV,
    actor,
    book_now,
    discharged,
    dosed_session,
    let_time_pass,
    make_order,
    ready_to_start,
)

pytestmark = pytest.mark.django_db

TIMES = [float(t) for t in range(0, 481)]


def _levels(model, regimen, s):
    age = s.patient.age_on(timezone.localtime(s.dose_started_at or timezone.now(), s.patient.clinic.tz).date())
    out = "esketamine" if s.route == "intranasal" else "ketamine"
    return pk.simulate(model, regimen, pk.Patients.of(float(s.weight_kg), age), TIMES).concentrations[out][0]


def _panel(client, s):
    return client.get(reverse("treatments:pk_prediction", args=[s.external_id]))


def _paused_and_slowed_infusion(patient, staff, rooms):
    """An IV infusion started 80 minutes ago: paused at 10 min, resumed at 15, slowed to 100 mL/h at 25, stopped
    at 50 (the dose the events give, short of the bag), all recorded through the cockpit's services."""
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=100), staff,
                       minutes_ago=100)
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=80)
    nurse = actor(staff["nurse"])
    services.start_dose(actor=nurse, session=s, at=start)
    for minute, kind, extra in ((10, "pause", {"note": "patient asked for a break"}), (15, "resume", {}),
                                (25, "rate", {"rate": "100"}),
                                (50, "stop", {"note": "stopped early at the patient's request"})):
        services.dosing_event(actor=nurse, session=s, kind=kind, at=start + timedelta(minutes=minute), **extra)
    s.refresh_from_db()
    return s, start


def test_a_paused_and_rate_changed_infusion_is_the_schedule_the_engine_is_given_by_hand(patient, staff, rooms):
    s, start = _paused_and_slowed_infusion(patient, staff, rooms)
    # by hand: the bag's concentration (dose over drug and diluent), the pump's planned rate, then 100 mL/h
    volume = float(s.bag_volume_mL + s.prepared_volume_mL)
    mg_per_mL = float(s.prepared_dose_mg) / volume
    planned = volume * 60 / s.infusion_minutes  # mL/h
    by_hand = pk.Regimen([pk.Infusion(0, 10, planned / 60 * mg_per_mL), pk.Infusion(15, 25, planned / 60 * mg_per_mL),
                          pk.Infusion(25, 50, 100 / 60 * mg_per_mL)])
    dosing = predictions.dosing_of(s)
    assert dosing.origin == start and dosing.basis == "the pump's recorded events"
    assert sum(float(d.dose_mg) for d in dosing.regimen.doses) == pytest.approx(float(s.administered_mg), abs=0.006)
    for model in pk.RACEMIC_IV_ADULT:
        ours, theirs = _levels(model, dosing.regimen, s), _levels(model, by_hand, s)
        assert ours.tolist() == pytest.approx(theirs.tolist(), rel=1e-12, abs=1e-12)
    # the pause shows in the curve: the level falls between 10 and 15 minutes and rises again after
    domino = _levels("domino", by_hand, s)
    assert domino[14] < domino[10] and domino[14] < domino[16]


def test_the_cockpit_panel_draws_every_model_the_band_and_the_advice(patient, staff, rooms, client_for):
    s, start = _paused_and_slowed_infusion(patient, staff, rooms)
    p = predictions.predict(s)
    assert [c.name for c in p.curves] == ["Domino", "Clements 250", "Hijazi 2003"]  # the model in use first
    assert p.in_use.name == "Domino" and p.threshold == 10.0 and p.band is None  # Domino publishes no variability
    expected = pk.time_below("domino", predictions.dosing_of(s).regimen,
                             pk.Patients.of(float(s.weight_kg), p.age_years), 10.0).minutes[0]
    assert p.in_use.below_min == pytest.approx(expected)
    assert p.below_at == start + timedelta(minutes=float(expected))
    for who in ("nurse", "prescriber"):
        r = _panel(client_for(who), s)
        assert r.status_code == 200
        body = r.content.decode()
        assert "model estimate, not a measured level" in body
        assert "<svg" in body and body.count('class="pk-model') == 3 and 'class="pk-spread"' in body
        assert 'class="pk-now"' in body and 'class="pk-threshold"' in body
        assert "Model in use: <b>Domino</b>" in body
        assert "Advice, not a discharge criterion" in body
        local = timezone.localtime(p.below_at, s.patient.clinic.tz)
        assert f"at about <b>{local:%H:%M}</b>" in body
        assert "publishes no inter-individual variability" in body
        assert "<script" not in body
    assert _panel(client_for("front_desk"), s).status_code == 403


def test_the_clinic_chooses_the_model_in_use_and_hijazi_brings_its_band(patient, staff, rooms, client_for):
    clinic_services.update_limits(actor=actor(staff["clinic_admin"]), clinic=patient.clinic,
                                  values={**patient.clinic.limits(), "pk.iv_model": "hijazi",
                                          "pk.ketamine_below_ng_per_mL": 25})
    s, _ = _paused_and_slowed_infusion(patient, staff, rooms)
    p = predictions.predict(s)
    assert p.in_use.name == "Hijazi 2003" and p.threshold == 25.0
    low, mid, high = p.band
    assert all(a <= b <= c for a, b, c in zip(low, mid, high, strict=True)) and max(high) > max(low)
    assert p.band_range[0] <= p.below_at <= p.band_range[1]
    body = _panel(client_for("nurse"), s).content.decode()
    assert "Model in use: <b>Hijazi 2003</b>" in body and 'class="pk-band"' in body and "virtual patients" in body


def test_before_the_start_the_curve_is_the_ordered_dose(patient, staff, rooms, client_for):
    s = book_now(make_order(patient, staff, IV), staff, rooms)  # booked: no pre-checks, no dose prepared
    p = predictions.predict(s)
    assert p.ok and not p.started and p.basis == "the ordered dose" and p.now_min is None
    # 0.5 mg/kg ordered x the patient's latest weight (70 kg) over the order's 40 minutes
    by_hand = pk.Regimen([pk.Infusion.of_dose(35.0, 0, 40)])
    age = p.age_years
    expected = pk.time_below("domino", by_hand, pk.Patients.of(70.0, age), 10.0).minutes[0]
    assert p.weight_kg == 70.0 and p.in_use.below_min == pytest.approx(expected)
    body = _panel(client_for("prescriber"), s).content.decode()
    assert "the ordered dose" in body and "if the dose starts at" in body and 'class="pk-now"' not in body
    # prepared (today's weight 75 kg): the prepared dose replaces the order's
    s = ready_to_start(s, staff, weight="75.0")
    p = predictions.predict(s)
    assert p.basis == "the prepared dose" and p.weight_kg == 75.0
    assert predictions.dosing_of(s).regimen.doses[0].dose_mg == pytest.approx(float(s.prepared_dose_mg))


def test_esketamine_devices_each_at_their_time(patient, staff, rooms, client_for):
    s = dosed_session(patient, staff, rooms=rooms, data=ESK, end="dosing")  # the first device given
    p = predictions.predict(s)
    first = predictions.dosing_of(s)
    assert [d.time_min for d in first.regimen.doses][0] == 0.0 and len(first.regimen.doses) == 2
    assert "1 more device of 28 mg assumed" in first.notes[0]  # the second is planned, not given yet
    assert p.in_use.name == "Perez-Ruixo 2021" and p.band is not None and len(p.curves) == 1
    let_time_pass(8)
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="device",
                          at=s.dose_started_at + timedelta(minutes=6))
    services.dosing_event(actor=actor(staff["nurse"]), session=s, kind="stop",
                          at=s.dose_started_at + timedelta(minutes=7))
    s.refresh_from_db()
    dosing = predictions.dosing_of(s)
    assert dosing.notes == () and [(d.time_min, d.dose_mg, d.route) for d in dosing.regimen.doses] == [
        (0.0, float(ESKETAMINE_DEVICE_MG), "intranasal"), (6.0, float(ESKETAMINE_DEVICE_MG), "intranasal")]
    by_hand = pk.Regimen([pk.Absorbed(0, 28, "intranasal"), pk.Absorbed(6, 28, "intranasal")])
    assert _levels("perez-ruixo", dosing.regimen, s).tolist() == pytest.approx(
        _levels("perez-ruixo", by_hand, s).tolist(), rel=1e-12, abs=1e-12)
    body = _panel(client_for("nurse"), s).content.decode()
    assert "Predicted esketamine level" in body and 'class="pk-band"' in body
    assert "Perez-Ruixo 2021" in body and "model estimate, not a measured level" in body


def test_no_weight_gives_a_sentence_not_a_curve(patient, staff, rooms, client_for):
    s = book_now(make_order(patient, staff, IV), staff, rooms)
    for m in patient.measurements.all():
        mark_measurement_entered_in_error(actor=actor(staff["nurse"]), measurement=m, reason="wrong patient's scale")
    p = predictions.predict(s)
    assert not p.ok and "no weight is recorded" in p.message
    r = _panel(client_for("nurse"), s)
    assert r.status_code == 200
    body = r.content.decode()
    assert "no weight is recorded" in body and "<svg" not in body


def test_an_im_injection_is_drawn_per_model_and_tmax_end_with_its_absorption_shown_unconfirmed(
        patient, staff, rooms, client_for, django_assert_max_num_queries):
    s = dosed_session(patient, staff, rooms=rooms, data=IM, end="stopped")
    p = predictions.predict(s)
    assert p.ok and p.in_use_name == "Domino" and p.band is None and "IM absorption" in p.band_note
    assert sorted(c.name for c in p.curves) == sorted(f"{m}, IM Tmax {t} min" for m in
                                                      ("Domino", "Clements 250", "Hijazi 2003") for t in (5, 15))
    assert [c.name for c in p.in_use_curves] == ["Domino, IM Tmax 5 min", "Domino, IM Tmax 15 min"]
    assert all(c.status == "U" and "pk-models.md §1.4, U" in c.source for c in p.curves)
    # each curve is the engine's, given the absorption solved for that model and Tmax (F 0.93, no lag)
    mg, age = float(s.administered_mg), p.age_years
    for c in p.curves:
        tmax = 5.0 if c.name.endswith("Tmax 5 min") else 15.0
        a = pk.im_absorption(c.key, float(s.weight_kg), age, tmax)
        assert a.bioavailability == 0.93
        reg = pk.Regimen([pk.Absorbed(0.0, mg, "im", a)])
        by_hand = pk.simulate(c.key, reg, pk.Patients.of(float(s.weight_kg), age), p.times_min)
        assert c.levels == pytest.approx(by_hand.concentrations["ketamine"][0].tolist(), rel=1e-12, abs=1e-12)
        assert c.below_min == pytest.approx(pk.time_below(c.key, reg, pk.Patients.of(float(s.weight_kg), age),
                                                          10.0).minutes[0])
    # the advice is the latest of the spread (conservative)
    assert p.advice_min == max(c.below_min for c in p.curves)
    assert p.below_at == s.dose_started_at + timedelta(minutes=p.advice_min)
    client = client_for("prescriber")
    _panel(client, s)  # the sign-in session's first request
    with django_assert_max_num_queries(8):  # the IV panel's bound
        body = _panel(client, s).content.decode()
    assert "<svg" in body and body.count('class="pk-model') == 6 and 'class="pk-spread"' in body
    assert body.count('class="pk-model pk-in-use"') == 2
    assert "The IM absorption is unconfirmed" in body and "pk-models.md §1.4, status U" in body
    assert "Domino, IM Tmax 5 min: ka 0.0553" in body  # the solved rate, shown
    assert "are clinic settings" in body and "F 0.93, Tmax 5–15 min" in body
    assert "model estimate, not a measured level" in body and "Model in use: <b>Domino</b>" in body
    local = timezone.localtime(p.below_at, s.patient.clinic.tz)
    assert f"at about <b>{local:%H:%M}</b> (the latest of every model and both ends of the Tmax range" in body


def test_the_clinic_sets_the_im_absorption(patient, staff, rooms):
    clinic_services.update_limits(actor=actor(staff["clinic_admin"]), clinic=patient.clinic,
                                  values={**patient.clinic.limits(), "pk.im_bioavailability": 0.8,
                                          "pk.im_tmax_min_low": 10, "pk.im_tmax_min_high": 30})
    s = dosed_session(patient, staff, rooms=rooms, data=IM, end="stopped")
    p = predictions.predict(s)
    assert {c.name.rsplit(", ", 1)[1] for c in p.curves} == {"IM Tmax 10 min", "IM Tmax 30 min"}
    assert "F 0.8, Tmax 10–30 min" in p.absorption_note
    domino_30 = next(c for c in p.curves if c.name == "Domino, IM Tmax 30 min")
    peak_at = p.times_min[max(range(len(domino_30.levels)), key=domino_30.levels.__getitem__)]
    assert abs(peak_at - 30.0) <= 1.0  # on the panel's 1-minute grid


def test_the_advice_never_holds_up_a_discharge(patient, staff, rooms):
    """With a level the models take many hours to reach, the patient is still discharged on the clinical check."""
    clinic_services.update_limits(actor=actor(staff["clinic_admin"]), clinic=patient.clinic,
                                  values={**patient.clinic.limits(), "pk.ketamine_below_ng_per_mL": 1})
    s = dosed_session(patient, staff, rooms=rooms, end="stopped")
    assert predictions.predict(s).below_at > timezone.now() + timedelta(hours=3)
    assert discharged(s, staff).status == "discharged"


def test_the_panel_reads_a_bounded_number_of_queries(patient, staff, rooms, client_for,
                                                      django_assert_max_num_queries):
    s, _ = _paused_and_slowed_infusion(patient, staff, rooms)
    client = client_for("nurse")
    _panel(client, s)  # the sign-in session's first request
    with django_assert_max_num_queries(8):
        assert _panel(client, s).status_code == 200


def test_the_cockpit_loads_the_panel_lazily(patient, staff, rooms, client_for):
    s = book_now(make_order(patient, staff, IV), staff, rooms)
    body = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    url = reverse("treatments:pk_prediction", args=[s.external_id])
    assert f'hx-get="{url}"' in body and 'hx-trigger="load' in body
    # last on the page: drawn in after it, the chart moves no button (tests/e2e/test_cockpit_buttons_stay_put_...)
    assert body.index('id="pk"') > max(body.index('id="discharge"'), body.index('id="sign"'))


def test_the_discharge_card_gives_the_predicted_time_below_as_advice_beside_the_readiness(patient, staff, rooms,
                                                                                          client_for):
    """While discharge is being decided, the Discharge card itself says when the predicted level falls below the
    clinic's level (an unconfirmed clinic setting, said so), drawn on the page with no late fetch (nothing moves);
    once the patient is discharged it is gone."""
    s, _ = _paused_and_slowed_infusion(patient, staff, rooms)
    p = predictions.predict(s, band=False)
    body = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    card = body[body.index('id="discharge"'):body.index('id="sign"')]
    local = timezone.localtime(p.below_at, s.patient.clinic.tz)
    assert 'id="pk-discharge-advice"' in card and "model estimate, not a measured level" in card
    assert f"at about <b>{local:%H:%M}</b>" in card and "a clinic setting, unconfirmed" in card
    assert "never blocks or allows a discharge" in card
    readiness = max(card.find("Ready for discharge"), card.find("Not ready for discharge"))
    assert 0 < readiness < card.index('id="pk-discharge-advice"')  # right after the readiness check
    panel = _panel(client_for("nurse"), s).content.decode()
    assert "10 ng/mL (a clinic setting, unconfirmed: no published level)" in panel  # the chart's legend too
    discharged(s, staff)
    after = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id])).content.decode()
    assert 'id="pk-discharge-advice"' not in after


def test_a_model_failure_never_costs_the_nurse_the_cockpit(patient, staff, rooms, client_for, monkeypatch):
    s, _ = _paused_and_slowed_infusion(patient, staff, rooms)

    def broken(*args, **kwargs):
        raise RuntimeError("a model bug")

    monkeypatch.setattr(predictions, "predict", broken)
    r = client_for("nurse").get(reverse("treatments:cockpit", args=[s.external_id]))
    assert r.status_code == 200 and 'id="pk-discharge-advice"' not in r.content.decode()
    assert "Discharge patient" in r.content.decode()


def test_an_infusion_stopped_the_moment_it_started_says_so(patient, staff, rooms):
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=30), staff, minutes_ago=30)
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=10)
    nurse = actor(staff["nurse"])
    services.start_dose(actor=nurse, session=s, at=start)
    services.dosing_event(actor=nurse, session=s, kind="stop", at=start, note="line tissued at once")
    s.refresh_from_db()
    assert predictions.predict(s).message == "No predicted curve: no drug was given (0 mg recorded)."
