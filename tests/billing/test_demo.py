"""The demo clinic's billing (``crossapp/seeds/billing.py``): priced services with their codes, packages, a Good
Faith Estimate issued and one due, paid and unpaid invoices, a package drawn down, and a superbill a demo patient
downloads in the portal, all through the services and synthetic."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.audit.services import verify_chain
from ketaclinic.billing import services
from ketaclinic.billing.models import Estimate, Invoice, PackageOffer, Payment, PriceVersion
from ketaclinic.clinic.models import Clinic
from ketaclinic.portal.models import PatientAccount
from tests.demo_world import demo_world
from tests.pdfread import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Clinic:
    with demo_world(django_db_blocker, patients=12):
        yield Clinic.objects.filter(is_demo=True).order_by("pk").first()


def test_the_demo_clinic_has_prices_packages_estimates_and_paid_and_unpaid_invoices(demo):
    assert len(services.current_prices(demo)) == 8
    assert all(pv.note == "Synthetic demo price" for pv in PriceVersion.objects.all())
    assert PackageOffer.objects.filter(clinic=demo, active=True).count() == 2
    assert Estimate.objects.filter(status=Estimate.Status.ISSUED).count() == 1
    assert Estimate.objects.filter(status=Estimate.Status.DUE).count() == 1
    invoices = list(services.annotate_figures(Invoice.objects.filter(clinic=demo)))
    balances = [services.annotated_figures(i).balance for i in invoices]
    assert any(b == 0 for b in balances) and any(b > 0 for b in balances)
    assert Payment.objects.filter(method=Payment.Method.PACKAGE).exists()
    assert services.aging(demo).total == sum(balances)
    assert verify_chain() is None


def test_a_demo_patient_downloads_their_superbill_in_the_portal(demo):
    account = next(a for a in PatientAccount.objects.select_related("user", "patient")
                   if Invoice.objects.filter(patient=a.patient, kind=Invoice.Kind.SESSION).exists())
    client = Client()
    client.force_login(account.user)
    session = client.session
    from ketaclinic.portal.services import SESSION_VERIFIED

    session[SESSION_VERIFIED] = account.pk
    session.save()
    page = client.get(reverse("billing:my_billing")).content.decode()
    assert "My bills" in page and "What treatment costs" in page
    text = pdf_text(client.get(reverse("billing:my_superbill")).content)
    assert account.patient.mrn in text and "99-0000001" in text


@pytest.mark.parametrize("role", ["billing", "admin", "frontdesk"])
def test_the_demo_billing_pages_open_for_the_roles_that_handle_money(demo, role):
    from ketaclinic.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=role))
    patient = Invoice.objects.first().patient
    urls = [reverse("billing:account", args=[patient.external_id])]
    if role != "frontdesk":
        urls += [reverse("billing:worklist"), reverse("billing:prices"), reverse("billing:packages"),
                 reverse("billing:aging")]
    for url in urls:
        assert client.get(url).status_code == 200, url
