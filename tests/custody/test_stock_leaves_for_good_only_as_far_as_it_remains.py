"""Stock leaves the clinic for good (destroyed, lost, returned) only as far as the container holds it: asking for
more is refused next to the quantity, naming what remains, and nothing is recorded; a destruction also counts what
destructions already requested hold of it (they post once witnessed)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ketaclinic.custody import services
from ketaclinic.custody.models import LedgerEntry, LossReport, PendingEvent
from ketaclinic.custody.services import CustodyError

pytestmark = pytest.mark.django_db


def _destroy(actor_for, vial, quantity, _):
    return services.request_destruction(actor_for("nurse"), container=vial, quantity=quantity,
                                        method="denaturing kit", place="clinic safe room")


def _lose(actor_for, vial, quantity, _):
    return services.report_loss(actor_for("nurse"), container=vial, quantity=quantity, kind="theft",
                                discovered_at=timezone.now(), circumstances="Vial missing from the safe at the count")


def _return(actor_for, vial, quantity, distributor):
    return services.return_stock(actor_for("prescriber"), container=vial, quantity=quantity,
                                 distributor=distributor, reason="expired")


@pytest.mark.parametrize("leave, also", [(_destroy, " (after other pending destructions)"), (_lose, ""), (_return, "")],
                         ids=["destroyed", "lost", "returned"])
def test_more_than_remains_is_refused_naming_what_remains(leave, also, receive, vial_product, actor_for,
                                                          reverse_distributor):
    [vial] = receive(vial_product)
    with pytest.raises(CustodyError) as refused:
        leave(actor_for, vial, "10.5", reverse_distributor)
    assert refused.value.errors["quantity"] == f"Only 10.00 mL remain in {vial.label}{also}."
    assert not PendingEvent.objects.exists() and not LossReport.objects.exists()
    assert not LedgerEntry.objects.exclude(kind=LedgerEntry.Kind.RECEIVE).exists()
    leave(actor_for, vial, "10", reverse_distributor)  # all of it may go


def test_a_destruction_counts_what_destructions_already_requested_hold(receive, vial_product, actor_for):
    [vial] = receive(vial_product)
    _destroy(actor_for, vial, "6", None)
    with pytest.raises(CustodyError) as refused:
        _destroy(actor_for, vial, "5", None)
    assert refused.value.errors["quantity"] == (f"Only 4.00 mL remain in {vial.label} (after other pending "
                                                "destructions).")
    assert PendingEvent.objects.count() == 1
