"""The money report: charges by service (package-covered sessions at their share), packages sold, money received
by method, and billing's own aging report; voided invoices never count. Built through billing's services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ketaclinic.billing import services
from ketaclinic.billing.services.invoices import package_invoice
from ketaclinic.patients.services import add_diagnosis
from ketaclinic.reports import money
from ketaclinic.reports.base import ReportFilters
from tests.factories import actor, dosed_session, open_day
from tests.reports.tables import by_diagnosis_group
from tests.reports.tables import row as _row
from tests.reports.tables import section as _section

QUERIES = 6  # the clinic, charges by service, what packages paid of them, packages sold, received, aging


@pytest.fixture
def world(priced, billing, staff, rooms, make_patient):
    """A: an IV session paid in cash. B: an IV package (3 sessions, $1,200.00) paid by card, then a session paid
    from it ($400.00 share). C: an invoice voided. D: an IV session invoiced, not paid. Test prices: IV $450.00."""
    a, b, c, d = (make_patient() for _ in range(4))
    add_diagnosis(actor=actor(staff["nurse"]), patient=b, code="F43.10")
    invoices = {}
    for key, patient, days in (("a", a, 3), ("b", b, 2), ("c", c, 1), ("d", d, 0)):
        start = open_day(priced, -(days + 1))  # on the clinic's working days before today
        invoices[key] = dosed_session(patient, staff, rooms=rooms, start=start, end="discharged")
    offer = services.add_offer(actor=billing, clinic=priced, name="IV induction (3)", kind="induction",
                               service="iv_infusion", sessions=3, price_cents=120000)
    package = services.sell_package(actor=billing, patient=b, offer=offer)
    services.take_payment(actor=billing, invoice=package_invoice(package), method="card",
                          amount_cents=120000, reference="T-100")
    for key in "abcd":
        invoices[key] = services.invoice_session(actor=billing, session=invoices[key])
    services.take_payment(actor=billing, invoice=invoices["a"], method="cash", amount_cents=45000)
    services.void_invoice(actor=billing, invoice=invoices["c"], reason="Issued to the wrong patient")
    return invoices




def test_every_section_counts_exactly(world, django_assert_num_queries):
    with django_assert_num_queries(QUERIES):
        r = money.build(ReportFilters())
    service = _section(r, "Revenue by service")
    assert _row(service, "IV ketamine infusion")[1:] == (3, Decimal("1300.00"), Decimal("400.00"),
                                                          Decimal("900.00"))  # C's voided invoice left out
    assert [c.unit for c in service.table.columns][2:] == ["USD", "USD", "USD"]
    assert _section(r, "Packages sold").table.rows[0] == ("IV induction (3)", "IV ketamine infusion", 1, 3,
                                                          Decimal("1200.00"))
    received = _section(r, "Money received")
    assert _row(received, "Cash")[1:] == (1, Decimal("450.00"), Decimal("0.00"), Decimal("0.00"), Decimal("450.00"))
    assert _row(received, "Package draw-down")[5] == Decimal("400.00")
    assert _row(received, "Money in, cash and card")[5] == Decimal("1650.00")
    owed = _section(r, "Outstanding balances")
    assert _row(owed, "current") == ("current", 1, Decimal("450.00"))  # D's invoice, issued today
    assert _row(owed, "All") == ("All", 1, Decimal("450.00"))


def test_filters_narrow_the_money(world, django_assert_num_queries):
    with django_assert_num_queries(QUERIES):
        ptsd = money.build(ReportFilters(diagnosis="ptsd"))  # B only
    assert _row(_section(ptsd, "Revenue by service"), "IV ketamine infusion")[1:3] == (1, Decimal("400.00"))
    assert _row(_section(ptsd, "Money received"), "Money in, cash and card")[5] == Decimal("1200.00")
    assert "diagnosis group" in " ".join(_section(ptsd, "Outstanding balances").notes)
    esk = money.build(ReportFilters(route="intranasal"))
    assert _section(esk, "Revenue by service").table.rows == [("All services", 0, Decimal("0.00"),
                                                               Decimal("0.00"), Decimal("0.00"))]
    assert any("route" in n for n in _section(esk, "Packages sold").notes)
    tomorrow = timezone.localdate() + timedelta(days=1)
    later = money.build(ReportFilters(start=tomorrow))
    assert _row(_section(later, "Revenue by service"), "All services")[1] == 0


def test_the_query_count_does_not_grow_with_more_invoices(world, billing, staff, rooms, make_patient,
                                                          django_assert_num_queries):
    more = dosed_session(make_patient(), staff, rooms=rooms, start=open_day(world["a"].patient.clinic, -5),
                         end="discharged")
    services.invoice_session(actor=billing, session=more)
    with django_assert_num_queries(QUERIES):
        r = money.build(ReportFilters())
    assert _row(_section(r, "Revenue by service"), "IV ketamine infusion")[1] == 4


def test_each_patient_counts_in_one_diagnosis_group(world, staff, django_assert_num_queries):
    """The core's one-group rule (ketaclinic/clinical/diagnosis_groups.py): B has F43.10 and F33.2, so B is
    unipolar (depression before PTSD) and the PTSD filter finds nobody; A has F41.1: anxiety; D none: other."""
    nurse = actor(staff["nurse"])
    add_diagnosis(actor=nurse, patient=world["b"].patient, code="F33.2")
    add_diagnosis(actor=nurse, patient=world["a"].patient, code="F41.1")
    everyone, by_group = by_diagnosis_group(money.build, django_assert_num_queries, QUERIES)
    charged = {g: _row(_section(r, "Revenue by service"), "All services")[2] for g, r in by_group.items()}
    assert charged == {"bipolar": Decimal("0.00"), "unipolar": Decimal("400.00"), "ptsd": Decimal("0.00"),
                       "anxiety": Decimal("450.00"), "other": Decimal("450.00")}
    assert sum(charged.values()) == _row(_section(everyone, "Revenue by service"), "All services")[2]
    sold = {g: _row(_section(r, "Packages sold"), "All packages")[2] for g, r in by_group.items()}
    assert sold == {"bipolar": 0, "unipolar": 1, "ptsd": 0, "anxiety": 0, "other": 0}
    received = {g: _row(_section(r, "Money received"), "Money in, cash and card")[5] for g, r in by_group.items()}
    assert received == {"bipolar": Decimal("0.00"), "unipolar": Decimal("1200.00"), "ptsd": Decimal("0.00"),
                        "anxiety": Decimal("450.00"), "other": Decimal("0.00")}
