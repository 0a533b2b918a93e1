"""Issue 10 points 9-10 and issue 9 point 5: hold means hold, verification of strength and bag, the pre-dose hold
rule, REMS 'acceptable before administration', esketamine device spacing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.session import (
    DoseEntries,
    RecordedReading,
    infusion_pause_required,
    may_resume,
    next_device,
    predose_hold,
    predose_vitals_acceptable,
    verification_mismatches,
)
from ketaclinic.clinical.vitals import Level

T0 = datetime(2025, 11, 2, 10, 0, tzinfo=UTC)


# ------------------------------------------------------------------ hold means hold
def test_hold_pauses_and_stop_stops():
    assert infusion_pause_required(Level.OK).ok and infusion_pause_required(Level.CAUTION).ok
    hold = infusion_pause_required(Level.HOLD)
    assert hold.blocked and hold.details["action"] == "pause" and "confirm the pump is paused" in hold.reason
    stop = infusion_pause_required(Level.STOP)
    assert stop.blocked and stop.details["action"] == "stop" and "call the prescriber" in stop.reason
    with pytest.raises(ClinicalInputError):
        infusion_pause_required(4)


def test_resume_needs_a_repeat_reading_below_hold_after_the_pause():
    paused = T0 + timedelta(minutes=20)
    no_repeat = may_resume(paused_at=paused, pause_level=Level.HOLD, readings=[(paused, Level.HOLD)])
    assert no_repeat.blocked and "repeat set of vital signs" in no_repeat.reason
    still_high = may_resume(paused_at=paused, pause_level=Level.HOLD,
                            readings=[(paused, Level.HOLD), (paused + timedelta(minutes=5), Level.HOLD)])
    assert still_high.blocked and "still at HOLD" in still_high.reason
    ok = may_resume(paused_at=paused, pause_level=Level.HOLD,
                    readings=[(paused + timedelta(minutes=5), Level.CAUTION), (paused, Level.HOLD)])
    assert ok.ok and "may resume" in ok.reason
    # the LATEST reading after the pause decides: a normal one followed by a HOLD does not allow resuming
    worse_again = may_resume(paused_at=paused, pause_level=Level.HOLD,
                             readings=[(paused + timedelta(minutes=5), Level.OK),
                                       (paused + timedelta(minutes=8), Level.HOLD)])
    assert worse_again.blocked
    # readings from before the pause do not count
    before = may_resume(paused_at=paused, pause_level=Level.HOLD, readings=[(paused - timedelta(minutes=1), Level.OK)])
    assert before.blocked


def test_prescriber_override_and_stop():
    paused = T0
    assert may_resume(paused_at=paused, pause_level=Level.HOLD, readings=[], prescriber_override=True).ok
    stopped = may_resume(paused_at=paused, pause_level=Level.STOP,
                         readings=[(paused + timedelta(minutes=5), Level.OK)])
    assert stopped.blocked and stopped.cleared_by == "prescriber" and "only a prescriber" in stopped.reason
    assert may_resume(paused_at=paused, pause_level=Level.STOP, readings=[], prescriber_override=True).ok


def test_a_stop_reading_after_a_hold_pause_needs_the_prescriber_even_if_a_normal_one_follows():
    paused = T0 + timedelta(minutes=20)
    readings = [(paused + timedelta(minutes=3), Level.STOP), (paused + timedelta(minutes=6), Level.OK)]
    after_stop = may_resume(paused_at=paused, pause_level=Level.HOLD, readings=readings)
    assert after_stop.blocked and after_stop.cleared_by == "prescriber" and "only a prescriber" in after_stop.reason
    assert may_resume(paused_at=paused, pause_level=Level.HOLD, readings=readings, prescriber_override=True).ok
    # a STOP from before the pause is the pause's own business (pause_level), not this rule's
    earlier = [(paused - timedelta(minutes=1), Level.STOP), (paused + timedelta(minutes=6), Level.OK)]
    assert may_resume(paused_at=paused, pause_level=Level.HOLD, readings=earlier).ok


@given(st.lists(st.tuples(st.integers(1, 60), st.sampled_from(list(Level))), max_size=5, unique_by=lambda t: t[0]))
def test_resume_without_prescriber_only_when_nothing_reached_stop_and_the_latest_is_below_hold(raw):
    paused = T0
    readings = [(paused + timedelta(minutes=m), lv) for m, lv in raw]
    d = may_resume(paused_at=paused, pause_level=Level.HOLD, readings=readings)
    if any(lv >= Level.STOP for _, lv in readings):
        assert d.blocked and d.cleared_by == "prescriber"
    if d.ok:
        latest = max(readings, key=lambda t: t[0])[1]
        assert readings and latest < Level.HOLD


# ------------------------------------------------------------------ verification
PREPARED = DoseEntries(Decimal("70.0"), Decimal("35.0"), Decimal("50"), Decimal("100"))


def test_verification_matches_all_four_numbers():
    assert verification_mismatches(PREPARED, DoseEntries(Decimal("70.1"), Decimal("34.9"), Decimal("50.0"),
                                                         Decimal("100"))) == {}
    errors = verification_mismatches(PREPARED, DoseEntries(Decimal("70.2"), Decimal("35.2"), Decimal("5"),
                                                           Decimal("250")))
    assert set(errors) == {"weight_kg", "dose_mg", "concentration_mg_per_mL", "bag_volume_mL"}
    assert "5 mg/mL does not match" in errors["concentration_mg_per_mL"]
    assert "cannot start until both agree" in errors["bag_volume_mL"]


def test_verification_blank_entries_and_esketamine():
    errors = verification_mismatches(PREPARED, DoseEntries(Decimal("70.0"), Decimal("35.0")))
    assert set(errors) == {"concentration_mg_per_mL", "bag_volume_mL"} and "Enter the" in errors["bag_volume_mL"]
    esk = DoseEntries(dose_mg=Decimal("56"))
    assert verification_mismatches(esk, DoseEntries(dose_mg=Decimal("56"))) == {}
    assert set(verification_mismatches(esk, DoseEntries(dose_mg=Decimal("84")))) == {"dose_mg"}


# ------------------------------------------------------------------ pre-dose hold and REMS acceptability
def test_worst_reading_since_the_last_override_holds():
    rows = [RecordedReading(1, Level.OK), RecordedReading(2, Level.HOLD), RecordedReading(3, Level.OK)]
    assert predose_hold(rows, None) == rows[1]  # a later normal reading does not erase the hold
    assert predose_hold(rows, 2) is None  # the override covered readings up to 2
    rows.append(RecordedReading(4, Level.STOP))
    assert predose_hold(rows, 2) == rows[3]  # a HOLD override never covers a later STOP
    rows.append(RecordedReading(5, Level.STOP))
    assert predose_hold(rows, 2) == rows[4]  # among equally bad, the latest
    assert predose_hold([], None) is None
    assert predose_hold([RecordedReading(1, Level.CAUTION)], None) is None


def test_vitals_acceptable_before_administration():
    assert predose_vitals_acceptable([RecordedReading(1, Level.OK), RecordedReading(2, Level.CAUTION)])
    assert not predose_vitals_acceptable([])
    assert not predose_vitals_acceptable([RecordedReading(1, Level.HOLD), RecordedReading(2, Level.OK)])
    assert not predose_vitals_acceptable([RecordedReading(1, Level.OK), RecordedReading(2, Level.OK, has_bp=False)])


@given(st.lists(st.integers(0, 3), max_size=8), st.integers(0, 8))
def test_override_never_uncovers_a_later_hold(levels, covered):
    rows = [RecordedReading(i + 1, lv) for i, lv in enumerate(levels)]
    held = predose_hold(rows, covered or None)
    later = [r for r in rows if r.id > covered]
    assert (held is not None) == any(r.level >= Level.HOLD for r in later)
    if held is not None:
        assert held.level == max(r.level for r in later)


# ------------------------------------------------------------------ esketamine devices
def test_five_minutes_between_devices():
    # clinical.md §3b: 84 mg = 3 devices, wait 5 min between devices
    first = T0
    early = next_device([first], 3, first + timedelta(minutes=4, seconds=59))
    assert early.blocked and "Wait 5 min" in early.reason and "10:05:00" in early.reason
    assert early.details["due_at"] == first + timedelta(minutes=5)
    ok = next_device([first], 3, first + timedelta(minutes=5))
    assert ok.ok and ok.details["device_number"] == 2
    done = next_device([first, first + timedelta(minutes=5)], 2, first + timedelta(minutes=20))
    assert done.blocked and "record the end of dosing" in done.reason
    with pytest.raises(ClinicalInputError):
        next_device([], 4, first)
    assert next_device([first], 3, first + timedelta(minutes=9),
                       settings={"dosing.esketamine_device_interval_minutes": 10}).blocked


def test_rems_completion_vitals_and_dissociation_answers():
    from ketaclinic.clinical.session import (
        RecordedReading,
        completion_vitals_acceptable,
        dissociation_observed,
    )
    from ketaclinic.clinical.vitals import Level

    assert completion_vitals_acceptable([RecordedReading(1, int(Level.HOLD)), RecordedReading(2, int(Level.OK))])
    assert not completion_vitals_acceptable([RecordedReading(1, int(Level.OK)), RecordedReading(2, int(Level.CAUTION))])
    assert not completion_vitals_acceptable([])
    assert dissociation_observed([0, 3]) and not dissociation_observed([0, 0]) and not dissociation_observed([])
