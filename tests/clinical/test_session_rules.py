from decimal import Decimal

import pytest

from ketaclinic.clinical import session
from ketaclinic.clinical.errors import ClinicalInputError


def test_iv_vitals_every_10_min_during_and_15_after_emory_series():
    assert session.vitals_interval_minutes("iv", "during") == 10
    assert session.vitals_interval_minutes("iv", "after") == 15


def test_im_and_esketamine_intervals_are_clinic_settings():
    assert session.vitals_interval_minutes("im", "during", {"vitals.im_interval_minutes": 5}) == 5
    assert session.vitals_interval_minutes("intranasal", "after", {"vitals.esketamine_interval_minutes": 20}) == 20
    with pytest.raises(ClinicalInputError):
        session.vitals_interval_minutes("oral", "during")


def test_verification_tolerance_is_the_rounding_step():
    assert session.matches(Decimal("35.0"), Decimal("35.05"), session.VERIFY_DOSE_TOLERANCE_MG)
    assert not session.matches(Decimal("35.0"), Decimal("35.2"), session.VERIFY_DOSE_TOLERANCE_MG)


def test_pregnancy_test_asked_unless_male_at_birth():
    assert session.pregnancy_test_applies("female") and session.pregnancy_test_applies("unknown")
    assert not session.pregnancy_test_applies("male")


def test_an_open_suicidality_task_holds_the_dose_and_none_holds_nothing():
    assert session.safety_task_hold([]) is None
    one = session.safety_task_hold(["raised 2026-06-17 09:12"])
    assert one.startswith("An urgent suicidality task is open (raised 2026-06-17 09:12)")
    assert "C-SSRS" in one and "before any dosing" in one
    assert session.safety_task_hold(["raised a", "raised b"]).startswith("2 urgent suicidality tasks are open")
