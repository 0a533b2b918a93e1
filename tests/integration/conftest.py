import pytest

from tests.factories import actor, dosed_session, let_time_pass, make_rooms


@pytest.fixture
def rooms(clinic):
    return make_rooms(clinic)


@pytest.fixture
def offer(patient, staff, rooms):
    """An integration session offered (by the integration service) after a real IV visit whose dosing ended an
    hour ago: consult, order, booking, pre-checks, verified dose, dosing started and stopped, then an hour of
    observation on the test clock."""
    from ketaclinic.integration import services

    s = dosed_session(patient, staff, rooms=rooms, end="stopped")
    let_time_pass(60)
    offer = services.offer_after(actor=actor(staff["nurse"]), session=s)
    assert offer is not None and offer.dosing_session == s
    return offer
