"""Defects from the security review (A-D, H): strict quantities, the set-up page, report dates, loss discovery
time, and audited reads of pages naming patients. Each test failed before its fix."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEntry
from ketaclinic.custody import forms, services
from ketaclinic.custody.models import (
    Count,
    CountLine,
    LedgerEntry,
    LossReport,
    PendingEvent,
    Product,
    StorageLocation,
    Supplier,
)
from tests.custody.conftest import SUPPLIER_DEA

pytestmark = pytest.mark.django_db

BAD_QUANTITIES = ["NaN", "sNaN", "-NaN", "Infinity", "-inf", "1e30", "1E2", "99999999999999999999", "0x10",
                  "1_0", "", "   ", "abc", "-1", "0.001", "100000"]


# ------------------------------------------------------------------------------------------ A. quantities
@pytest.mark.parametrize("raw", ["NaN", "sNaN", "1e30", "Infinity", "-1", "0.001", "abc", "99999999999999999999"])
def test_count_form_refuses_bad_numbers_next_to_the_field(raw, client_for, receive, vial_product, location):
    [vial] = receive(vial_product)
    c = client_for("nurse")
    c.raise_request_exception = False
    r = c.post(reverse("custody:count"), {"kind": "routine", "location": str(location.external_id),
                                          f"c_{vial.external_id}": raw})
    assert r.status_code == 200
    row = r.content.decode()
    assert 'class="field-error"' in row
    assert Count.objects.count() == 0 and CountLine.objects.count() == 0


def test_count_above_twice_a_full_vial_is_refused(client_for, receive, vial_product, location):
    [vial] = receive(vial_product)  # 10 mL vial
    c = client_for("nurse")
    r = c.post(reverse("custody:count"), {"kind": "routine", "location": str(location.external_id),
                                          f"c_{vial.external_id}": "20.01"})
    assert r.status_code == 200 and "20.00 mL" in r.content.decode()
    assert Count.objects.count() == 0
    # A discrepancy within the bound is still recorded (and opens an incident).
    r = c.post(reverse("custody:count"), {"kind": "routine", "location": str(location.external_id),
                                          f"c_{vial.external_id}": "11"})
    assert r.status_code == 302
    assert Count.objects.get().discrepancies == 1


def test_count_method_must_be_an_allowed_method(client_for, receive, vial_product, location):
    [vial] = receive(vial_product)
    c = client_for("nurse")
    for kind in ("routine", "biennial"):
        r = c.post(reverse("custody:count"), {"kind": kind, "location": str(location.external_id), "timing": "open",
                                              f"c_{vial.external_id}": "10", f"m_{vial.external_id}": "made-up"})
        assert r.status_code == 200
        assert "Choose exact or estimated." in r.content.decode()
    assert CountLine.objects.count() == 0


def test_submit_count_service_refuses_bad_lines(actor_for, receive, vial_product, location):
    [vial] = receive(vial_product)
    for counted, method in ((Decimal("NaN"), "exact"), (Decimal("1e30"), "exact"), (Decimal("10"), "made-up")):
        with pytest.raises(services.CustodyError):
            services.submit_count(actor_for("nurse"), location=location, kind="routine",
                                  lines=[services.CountInput(vial, counted, method)])
    assert CountLine.objects.count() == 0


@pytest.mark.parametrize("raw", BAD_QUANTITIES)
def test_parse_quantity_refuses_everything_but_plain_amounts(raw):
    with pytest.raises(services.CustodyError) as e:
        services.parse_quantity(raw, "qty")
    assert set(e.value.errors) == {"qty"}


@pytest.mark.parametrize("raw", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("1e30"), 10 ** 30])
def test_parse_quantity_refuses_non_finite_and_huge_decimals(raw):
    with pytest.raises(services.CustodyError):
        services.parse_quantity(raw)


def test_parse_quantity_accepts_plain_amounts():
    assert services.parse_quantity("2.5") == Decimal("2.50")
    assert services.parse_quantity(" 0.01 ") == Decimal("0.01")
    assert services.parse_quantity("1.500") == Decimal("1.50")
    assert services.parse_quantity("0", allow_zero=True) == Decimal("0.00")
    assert services.parse_quantity(Decimal("3")) == Decimal("3.00")
    with pytest.raises(services.CustodyError):
        services.parse_quantity("0")
    with pytest.raises(services.CustodyError):
        services.parse_quantity("5", maximum=Decimal("4"))


def test_every_custody_form_quantity_uses_the_strict_parser():
    """Draw, waste, witness, destruction, loss, return and product set-up: one field type, one parser."""
    quantity_fields = {
        forms.DrawForm: ["quantity"], forms.WasteForm: ["quantity"], forms.WitnessForm: ["quantity_entered"],
        forms.DestroyForm: ["quantity"], forms.LossForm: ["quantity"], forms.ReturnForm: ["quantity"],
        forms.ProductForm: ["strength_mg_per_mL", "container_volume_mL", "device_mg"],
    }
    for form_class, names in quantity_fields.items():
        for name in names:
            field = form_class.base_fields[name]
            assert isinstance(field, forms.QuantityField), (form_class.__name__, name)
            for raw in ("NaN", "sNaN", "1e30", "-1", "0.001"):
                with pytest.raises(forms.forms.ValidationError):
                    field.clean(raw)
            assert field.clean("2.5") == Decimal("2.50")


@pytest.mark.parametrize("raw", ["NaN", "sNaN", "1e30"])
def test_dispose_forms_show_a_message_not_a_server_error(raw, client_for, receive, vial_product, reverse_distributor):
    [vial] = receive(vial_product)
    c = client_for("compliance")
    c.raise_request_exception = False
    posts = [
        ("custody:destroy", {"destroy-quantity": raw, "destroy-method": "kit", "destroy-place": "Safe room"}),
        ("custody:report_loss", {"loss-kind": "loss", "loss-quantity": raw, "loss-circumstances": "Dropped",
                                 "loss-discovered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}),
        ("custody:return_stock", {"return-quantity": raw, "return-distributor": reverse_distributor.pk,
                                  "return-reason": "expired"}),
    ]
    for name, data in posts:
        r = c.post(reverse(name, args=[vial.external_id]), data, follow=True)
        assert r.status_code == 200
        assert "Quantity" in r.content.decode()
    assert PendingEvent.objects.count() == 0 and LossReport.objects.count() == 0
    assert not LedgerEntry.objects.exclude(kind=LedgerEntry.Kind.RECEIVE).exists()


def test_product_service_refuses_huge_values_with_a_message(admin_actor):
    with pytest.raises(services.CustodyError) as e:
        services.add_product(admin_actor, ndc="00000-0009-01", name="X", drug="ketamine", form="vial",
                             strength_mg_per_mL="1e30", container_volume_mL="10")
    assert "strength_mg_per_mL" in e.value.errors
    with pytest.raises(services.CustodyError) as e:
        services.add_product(admin_actor, ndc="00000-0009-01", name="X", drug="ketamine", form="vial",
                             strength_mg_per_mL="50", container_volume_mL="10", units_per_package=10 ** 12)
    assert "units_per_package" in e.value.errors


# ------------------------------------------------------------------------------------------ B. set-up page
def test_setup_page_adds_a_product_as_a_browser_posts_it(client_for):
    c = client_for("clinic_admin")
    page = c.get(reverse("custody:setup")).content.decode()
    assert 'name="which" value="product"' in page and 'name="form" value="product"' not in page
    r = c.post(reverse("custody:setup"), {"which": "product", "ndc": "00000-0009-01", "name": "Ketamine 50 mg/mL",
                                          "drug": "ketamine", "form": "vial", "strength_mg_per_mL": "50",
                                          "container_volume_mL": "10", "units_per_package": "1"})
    assert r.status_code == 302
    p = Product.objects.get(ndc="00000-0009-01")
    assert p.form == Product.Form.VIAL and p.strength_mg_per_mL == Decimal("50.00")
    assert AuditEntry.objects.filter(action="custody.product.added").exists()


def test_setup_page_adds_a_device_product(client_for):
    c = client_for("clinic_admin")
    r = c.post(reverse("custody:setup"), {"which": "product", "ndc": "50458-028-02", "name": "Spravato 56 mg kit",
                                          "drug": "esketamine", "form": "device", "device_mg": "28",
                                          "units_per_package": "2"})
    assert r.status_code == 302
    assert Product.objects.get().units_per_package == 2


@pytest.mark.parametrize("strength", ["1e30", "NaN", "-5"])
def test_setup_product_bad_strength_shows_a_field_error(strength, client_for):
    c = client_for("clinic_admin")
    c.raise_request_exception = False
    r = c.post(reverse("custody:setup"), {"which": "product", "ndc": "00000-0009-01", "name": "X",
                                          "drug": "ketamine", "form": "vial", "strength_mg_per_mL": strength,
                                          "container_volume_mL": "10", "units_per_package": "1"})
    assert r.status_code == 200
    assert 'class="field-error"' in r.content.decode()
    assert Product.objects.count() == 0


def test_setup_page_adds_a_supplier_and_a_location(client_for, clinic, room):
    c = client_for("clinic_admin")
    r = c.post(reverse("custody:setup"), {"which": "supplier", "name": "Example Supply (synthetic)",
                                          "address": "1 Way, Denver, CO", "dea_number": SUPPLIER_DEA,
                                          "kind": "distributor"})
    assert r.status_code == 302 and Supplier.objects.filter(dea_number=SUPPLIER_DEA).exists()
    r = c.post(reverse("custody:setup"), {"which": "location", "name": "Back safe", "rooms": [room.pk]})
    assert r.status_code == 302
    assert list(StorageLocation.objects.get(name="Back safe").rooms.all()) == [room]


# ------------------------------------------------------------------------------------------ C. report dates
@pytest.mark.parametrize("query", [
    "?from=0001-01-01&to=9999-12-31", "?from=0001-01-01&to=9999-12-31&format=pdf",
    "?from=0001-01-01&to=9999-12-31&format=csv", "?to=0001-01-01", "?from=9999-12-31", "?from=2026-02-31",
    "?from=garbage&to=%00", "?from=2026-03-01&to=2026-01-01",
])
@pytest.mark.parametrize("name", ["custody:dispensing_record", "custody:inventory_record"])
def test_report_dates_never_give_a_server_error(name, query, client_for):
    c = client_for("compliance")
    c.raise_request_exception = False
    r = c.get(reverse(name) + query)
    assert r.status_code == 200


def test_report_dates_are_clamped_with_a_note(client_for):
    c = client_for("compliance")
    r = c.get(reverse("custody:dispensing_record") + "?from=0001-01-01&to=9999-12-31")
    html = r.content.decode()
    assert r.context["start"].isoformat() == "1900-01-01"
    assert r.context["end"] == timezone.localdate() + timedelta(days=365)
    assert "before 1900-01-01" in html and "more than a year ahead" in html
    r = c.get(reverse("custody:inventory_record") + "?to=0001-01-01")
    assert r.context["start"].isoformat() == r.context["end"].isoformat() == "1900-01-01"
    r = c.get(reverse("custody:dispensing_record") + "?from=2026-03-01&to=2026-01-01")
    assert (r.context["start"].isoformat(), r.context["end"].isoformat()) == ("2026-01-01", "2026-03-01")
    assert "swapped" in r.content.decode()


# ------------------------------------------------------------------------------------------ D. loss discovery
def test_loss_cannot_be_discovered_before_the_container_was_received(actor_for, receive, vial_product):
    [vial] = receive(vial_product)
    with pytest.raises(services.CustodyError) as e:
        services.report_loss(actor_for("nurse"), container=vial, quantity="1", kind="loss",
                             discovered_at=timezone.now() - timedelta(days=3), circumstances="Dropped")
    assert "before" in e.value.errors["discovered_at"]
    with pytest.raises(services.CustodyError) as e:
        services.report_loss(actor_for("nurse"), container=vial, quantity="1", kind="loss",
                             discovered_at=timezone.now() + timedelta(hours=1), circumstances="Dropped")
    assert "future" in e.value.errors["discovered_at"]
    assert LossReport.objects.count() == 0
    report = services.report_loss(actor_for("nurse"), container=vial, quantity="1", kind="loss",
                                  discovered_at=timezone.now(), circumstances="Dropped")
    assert report.pk


def test_loss_form_year_one_is_refused_on_the_page(client_for, receive, vial_product):
    [vial] = receive(vial_product)
    c = client_for("nurse")
    r = c.post(reverse("custody:report_loss", args=[vial.external_id]), {
        "loss-kind": "loss", "loss-quantity": "1", "loss-discovered_at": "0001-01-01T00:00",
        "loss-circumstances": "Dropped"}, follow=True)
    assert r.status_code == 200 and "was received" in r.content.decode()
    assert LossReport.objects.count() == 0


# ------------------------------------------------------------------------------------------ H. audited reads
@pytest.fixture
def dosed(receive, vial_product, make_patient, make_session, actor_for):
    [vial] = receive(vial_product)
    patients = [make_patient(first_name="Ada"), make_patient(first_name="Bea")]
    for p in patients:
        s = make_session(p, administered_mg="35")
        services.draw(actor_for("nurse"), container=vial, session=s, quantity="1")
        services.record_administration(actor_for("nurse"), s)
    return vial, patients


def test_container_page_audits_each_patient_it_shows(client_for, dosed):
    vial, patients = dosed
    before = AuditEntry.objects.count()
    r = client_for("compliance").get(reverse("custody:container", args=[vial.external_id]))
    assert r.status_code == 200
    entries = list(AuditEntry.objects.filter(seq__gt=before, action="custody.container.viewed"))
    assert {e.patient_id for e in entries} == {p.pk for p in patients}
    assert set(entries[0].details["patients"]) == {str(p.external_id) for p in patients}
    assert all(e.subject_id == str(vial.external_id) for e in entries)


def test_container_page_without_patients_is_audited_once(client_for, receive, vial_product):
    [vial] = receive(vial_product)
    client_for("nurse").get(reverse("custody:container", args=[vial.external_id]))
    [entry] = AuditEntry.objects.filter(action="custody.container.viewed")
    assert entry.patient_id is None and entry.details["patients"] == []


@pytest.mark.parametrize("fmt", ["", "csv", "pdf"])
def test_dispensing_record_views_and_exports_name_the_patients_in_the_audit(fmt, client_for, dosed):
    _, patients = dosed
    r = client_for("compliance").get(reverse("custody:dispensing_record") + (f"?format={fmt}" if fmt else ""))
    assert r.status_code == 200
    entry = AuditEntry.objects.filter(action="custody.dispensing_record.viewed").get()
    assert entry.details["format"] == (fmt or "html")
    assert set(entry.details["patients"]) == {str(p.external_id) for p in patients}


def test_ledger_page_audit_names_the_patients_shown(client_for, dosed):
    _, patients = dosed
    client_for("compliance").get(reverse("custody:ledger"))
    entry = AuditEntry.objects.filter(action="custody.ledger.viewed").get()
    assert set(entry.details["patients"]) == {str(p.external_id) for p in patients}
