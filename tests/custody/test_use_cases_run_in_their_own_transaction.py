"""Each custody use case commits on its own: called inside someone else's transaction it refuses to run (so a
ledger entry can never be folded into, and rolled back with, an unrelated change), while ``.within`` composes it
on purpose (the demo loader)."""

from __future__ import annotations

import pytest
from django.db import transaction

from ketaclinic.custody import services
from ketaclinic.custody.models import LedgerEntry, Supplier
from tests.custody.conftest import SUPPLIER_DEA

pytestmark = pytest.mark.django_db

# Every service that changes custody records (the package's public surface, ketaclinic/custody/services/__init__.py).
USE_CASES = ["add_supplier", "add_product", "add_location", "enter_receipt", "countersign_receipt", "draw",
             "record_administration", "request_waste", "attest", "withdraw_event", "request_destruction",
             "report_loss", "record_loss_notice", "return_stock", "submit_count", "resolve_incident",
             "reverse_entry"]


@pytest.mark.parametrize("name", USE_CASES)
def test_every_custody_change_is_a_durable_use_case(name):
    assert isinstance(getattr(services, name), services.UseCase)


def test_a_use_case_refuses_to_run_inside_another_transaction(admin_actor):
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.add_supplier(admin_actor, name="Nested Supply", address="1 Way, Denver, CO",
                              dea_number=SUPPLIER_DEA)
    assert not Supplier.objects.exists()


def test_a_draw_inside_another_transaction_posts_nothing(receive, vial_product, make_patient, make_session,
                                                         actor_for):
    [vial] = receive(vial_product)
    session = make_session(make_patient())
    before = LedgerEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.draw(actor_for("nurse"), container=vial, session=session, quantity="1")
    assert LedgerEntry.objects.count() == before
    vial.refresh_from_db()
    assert vial.balance == 10


def test_within_composes_use_cases_in_the_callers_transaction(admin_actor):
    """What the demo loader does inside seed_demo's all-or-nothing transaction."""
    with transaction.atomic():
        services.add_supplier.within(admin_actor, name="Composed Supply", address="1 Way, Denver, CO",
                                     dea_number=SUPPLIER_DEA)
        assert Supplier.objects.filter(name="Composed Supply").exists()
        transaction.set_rollback(True)
    assert not Supplier.objects.filter(name="Composed Supply").exists()


def test_a_refused_use_case_inside_within_leaves_the_callers_work(admin_actor):
    with transaction.atomic():
        services.add_supplier.within(admin_actor, name="Kept Supply", address="1 Way, Denver, CO",
                                     dea_number=SUPPLIER_DEA)
        with pytest.raises(services.CustodyError):
            services.add_supplier.within(admin_actor, name="", address="", dea_number="XX")
    assert Supplier.objects.filter(name="Kept Supply").count() == 1
