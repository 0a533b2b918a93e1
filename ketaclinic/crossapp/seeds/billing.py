"""Billing for the demo clinic (issue 13), all synthetic: the clinic's billing details (a made-up but well-formed
NPI and tax ID), a priced service list with the codes of ``billing.services.prices.CODES``, an induction series and a
booster bundle, a package sold and drawn down, invoices for the clinic's completed sessions (some paid in cash or
by card, some left unpaid, one no-show fee), a Good Faith Estimate issued and one still due, so the worklist, the
aging report, the superbills and the portal's bills all have something to show.

Runs in billing's place (after the treatment, integration, scheduling and portal demos), through the billing
services (``.within``: the demo loader seeds the whole clinic in one transaction). The prices are the demo's own,
not a fee schedule: the seed article's "$400 and up per infusion" is the only figure they follow.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ketaclinic.audit.services import Actor
from ketaclinic.billing import services
from ketaclinic.billing.models import PackageOffer, Service
from ketaclinic.clinical.identifiers import npi_check_digit
from ketaclinic.portal.models import PatientAccount
from ketaclinic.treatments.models import TreatmentSession

#: Synthetic demo prices in cents.
DEMO_PRICES = {Service.CONSULT: 35000, Service.IV_INFUSION: 45000, Service.IM_INJECTION: 30000,
               Service.ESKETAMINE_56: 60000, Service.ESKETAMINE_84: 75000, Service.INTEGRATION: 15000,
               Service.FOLLOW_UP: 12500, Service.NO_SHOW_FEE: 10000}
DONE = (TreatmentSession.Status.DISCHARGED, TreatmentSession.Status.TRANSFERRED)


def seed(ctx) -> None:
    clinic = ctx.clinic
    user = ctx.users["billing"]
    actor = Actor.for_user(user)
    services.update_profile.within(actor=actor, clinic=clinic, organisation_npi="124531959" + str(
        npi_check_digit("124531959")), tax_id="99-0000001", place_of_service="11")
    for service, cents in DEMO_PRICES.items():
        services.set_price.within(actor=actor, clinic=clinic, service=service, amount_cents=cents,
                                  note="Synthetic demo price")
    series = services.add_offer.within(actor=actor, clinic=clinic, name="IV induction series (6 infusions)",
                                       kind=PackageOffer.Kind.INDUCTION, service=Service.IV_INFUSION, sessions=6,
                                       price_cents=240000)
    services.add_offer.within(actor=actor, clinic=clinic, name="IV booster bundle (3 infusions)",
                              kind=PackageOffer.Kind.BOOSTER, service=Service.IV_INFUSION, sessions=3,
                              price_cents=127500)

    portal_ids = set(PatientAccount.objects.filter(patient__clinic=clinic).values_list("patient_id", flat=True))
    done = list(TreatmentSession.objects.filter(patient__clinic=clinic, status__in=DONE)
                .select_related("patient", "order").order_by("-scheduled_start")[:40])
    # A package for one portal patient with IV sessions: sold and paid before their sessions are invoiced, so each
    # session is drawn from it.
    iv_portal = next((s.patient for s in done if s.patient_id in portal_ids and s.route == "iv"), None)
    if iv_portal is not None:
        package = services.sell_package.within(actor=actor, patient=iv_portal, offer=series)
        services.take_payment.within(actor=actor, invoice=package_invoice(package), method="card",
                                     amount_cents=package.price_cents, reference="DEMO-TERM-0001")
    n = 0
    for s in done:
        if n >= 16:
            break
        try:
            invoice = services.invoice_session.within(actor=actor, session=s)
        except services.BillingError:
            continue
        n += 1
        owed = services.figures(invoice).balance
        if owed and (n % 3 == 1 or s.patient_id in portal_ids):
            services.take_payment.within(actor=actor, invoice=invoice, method="cash", amount_cents=owed)
        elif owed and n % 3 == 2:
            services.take_payment.within(actor=actor, invoice=invoice, method="card", amount_cents=owed // 2,
                                         reference=f"DEMO-TERM-{n:04d}")
    missed = TreatmentSession.objects.filter(patient__clinic=clinic, status=TreatmentSession.Status.NO_SHOW).first()
    if missed is not None:
        try:
            services.invoice_session.within(actor=actor, session=missed)
        except services.BillingError:
            pass
    # Good Faith Estimates: one issued for a portal patient (an IV series), one still due for a booking.
    today = timezone.localdate(timezone.now(), clinic.tz)
    someone = next((p for p in ctx.patients if p.pk in portal_ids), ctx.patients[0])
    est = services.record_due.within(actor=actor, patient=someone, reason="requested", asked_on=today - timedelta(1),
                                     note="Synthetic demo estimate")
    services.issue_estimate.within(actor=actor, estimate=est, items=[(Service.CONSULT, 1), (Service.IV_INFUSION, 6),
                                                                     (Service.INTEGRATION, 6)],
                                   service_on=today, covers_until=today + timedelta(days=42))
    upcoming = (TreatmentSession.objects.filter(patient__clinic=clinic, status=TreatmentSession.Status.BOOKED,
                                                scheduled_start__gt=timezone.now())
                .exclude(patient=someone).select_related("patient").order_by("scheduled_start").first())
    if upcoming is None:  # no booked session ahead: a patient who asks what a series would cost
        other = next((p for p in ctx.patients if p.pk != someone.pk), None)
        if other is not None:
            services.record_due.within(actor=actor, patient=other, reason="requested", asked_on=today,
                                       note="Synthetic demo: asked what a series costs")
    else:
        services.record_due.within(actor=actor, patient=upcoming.patient, reason="scheduled", asked_on=today,
                                   service_on=timezone.localtime(upcoming.scheduled_start, clinic.tz).date(),
                                   note="Synthetic demo: booked self-pay series")


def package_invoice(package):
    from ketaclinic.billing.services.invoices import package_invoice as find

    return find(package)
