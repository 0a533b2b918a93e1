"""The cockpit offers the strengths a session's dose could be drawn from: a dose is prepared from counted stock,
not a typed number."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from ketaclinic.clinical import products
from ketaclinic.custody import services
from ketaclinic.treatments import stock
from tests.factories import book_at, make_order, open_now


@pytest.fixture
def session(patient, staff, room, clock):
    """An IV ketamine session booked now (or at the clinic's next bookable time: the test clock moves on to it) in
    the room the main safe supplies."""
    order = make_order(patient, staff)
    return book_at(order, staff, open_now(order), room=room)


def test_no_vial_records_means_the_label_strengths(session):
    assert stock.strengths(session) == products.product_strengths("ketamine")


def test_only_strengths_with_volume_on_hand_in_an_unexpired_lot(session, receive, vial_product, actor_for, clock):
    assert stock.strengths(session) == ()  # the product is set up, nothing received yet
    [vial] = receive(vial_product)
    assert stock.strengths(session) == (Decimal("50"),)
    services.report_loss(actor_for("nurse"), container=vial, quantity="10", kind="loss", discovered_at=clock.now(),
                         circumstances="Vial dropped and broken")
    assert stock.strengths(session) == ()  # empty


def test_an_expired_lot_is_not_offered(session, receive, vial_product, clock):
    receive(vial_product, expiry=clock.today() + timedelta(days=1))
    assert stock.strengths(session) == (Decimal("50"),)
    clock.shift(timedelta(days=2))
    assert stock.strengths(session) == ()


def test_stock_kept_in_a_store_that_does_not_supply_the_room_is_not_offered(session, receive, vial_product,
                                                                           other_location):
    receive(vial_product, where=other_location)
    assert stock.strengths(session) == ()


def test_the_offer_costs_four_queries_however_many_vials(session, receive, vial_product,
                                                         django_assert_num_queries):
    receive(vial_product, packages=5)
    with django_assert_num_queries(4):  # the session's draws, waste awaiting a witness, the vials, their stores' rooms
        assert stock.strengths(session) == (Decimal("50"),)
