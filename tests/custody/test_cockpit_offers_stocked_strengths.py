"""The cockpit offers the strengths the clinic holds: a dose is prepared from counted stock, not a typed number."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from ketaclinic.clinical import products
from ketaclinic.custody import services
from ketaclinic.treatments import stock


def test_no_product_records_means_the_label_strengths(clinic):
    assert stock.stock_known()  # custody told treatments at start-up
    assert stock.strengths(clinic, "ketamine") == products.product_strengths("ketamine")


def test_only_strengths_with_volume_on_hand_in_an_unexpired_lot(clinic, receive, vial_product, actor_for, clock):
    assert stock.strengths(clinic, "ketamine") == ()  # the product is set up, nothing received yet
    [vial] = receive(vial_product)
    assert stock.strengths(clinic, "ketamine") == (Decimal("50"),)
    services.report_loss(actor_for("nurse"), container=vial, quantity="10", kind="loss", discovered_at=clock.now(),
                         circumstances="Vial dropped and broken")
    assert stock.strengths(clinic, "ketamine") == ()  # empty


def test_an_expired_lot_is_not_offered(clinic, receive, vial_product, clock):
    receive(vial_product, expiry=clock.today() + timedelta(days=1))
    assert stock.strengths(clinic, "ketamine") == (Decimal("50"),)
    clock.shift(timedelta(days=2))
    assert stock.strengths(clinic, "ketamine") == ()
