"""Billing staff pages: the worklist, invoices (payments, refunds, void), the price list, packages, estimates, a
patient's account and statement, receipts, superbills and the accountant's CSV. Views are thin: each POST is read
by a form from ``forms.py`` and handed to one use case (``ketaclinic.submit``)."""

from __future__ import annotations

from django import forms
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.access import can_open
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.billing import forms as f
from ketaclinic.billing import services
from ketaclinic.billing.models import (
    Estimate,
    Invoice,
    PackageOffer,
    PatientPackage,
    Payment,
    PriceVersion,
    Service,
)
from ketaclinic.billing.money import dollars
from ketaclinic.billing.services import superbills
from ketaclinic.clinic.models import current_clinic
from ketaclinic.custody.reports import csv_response
from ketaclinic.formfields import posted
from ketaclinic.integration.models import IntegrationSession
from ketaclinic.patients.access import get_patient_for
from ketaclinic.patients.careteam import guarded
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import Appointment
from ketaclinic.submit import submit
from ketaclinic.treatments.models import TreatmentSession


class ConfirmForm(forms.Form):
    """A POST that carries nothing but its CSRF token (invoice this session)."""


def _patient(request, external_id) -> Patient:
    return get_patient_for(request, external_id)


def _invoice(request, external_id) -> Invoice:
    return guarded(request, get_object_or_404(Invoice.objects.select_related("patient__clinic", "rendering_provider",
                                                                             "voided_by", "estimate"),
                                              external_id=external_id, clinic=current_clinic()))


# ------------------------------------------------------------------------------------------------ the worklist
def worklist(request):
    clinic = current_clinic()
    report = services.aging(clinic)
    return render(request, "billing/worklist.html", {
        "todo": services.to_invoice(clinic), "unpaid": services.unpaid(clinic, limit=100),
        "due": services.due_list(clinic), "exceeded": services.exceeded(clinic),
        "uncovered": services.uncovered_bookings(clinic),
        "aging_rows": [(b, report.totals[b]) for b in services.BUCKETS],
        "can_invoice": can_open(request.user, "billing:invoice_session"),
    })


def aging(request):
    clinic = current_clinic()
    report = services.aging(clinic)
    rows = [(b, report.counts[b], report.totals[b]) for b in services.BUCKETS]
    return render(request, "billing/aging.html", {"rows": rows, "report": report})


def _done_invoice(invoice):
    return redirect("billing:invoice", external_id=invoice.external_id)


class LateFeeForm(forms.Form):
    """Invoice a session; for a late cancellation, the person confirms that the patient (not the clinic)
    cancelled, or no fee is charged."""

    patient_cancelled = forms.BooleanField(required=False)


def _invoice_from(request, use_case, saved="Invoice issued.", form=None):
    form = (form or ConfirmForm)(posted(request))
    return submit(request, form, use_case, refused_by=services.BillingError, saved=saved, done=_done_invoice,
                  again=lambda refused: _refused_to(request, refused, "billing:worklist"))


@require_POST
def invoice_session(request, external_id):
    session = guarded(request, get_object_or_404(TreatmentSession, external_id=external_id,
                                                 patient__clinic=current_clinic()))
    return _invoice_from(request, lambda actor, data: services.invoice_session(
        actor=actor, session=session, patient_cancelled=data.get("patient_cancelled", False)), form=LateFeeForm)


@require_POST
def invoice_visit(request, external_id):
    appointment = guarded(request, get_object_or_404(Appointment, external_id=external_id, clinic=current_clinic()))
    return _invoice_from(request, lambda actor, _: services.invoice_visit(actor=actor, appointment=appointment))


@require_POST
def invoice_integration(request, external_id):
    i = guarded(request, get_object_or_404(IntegrationSession, external_id=external_id,
                                           patient__clinic=current_clinic()))
    return _invoice_from(request, lambda actor, _: services.invoice_integration(actor=actor, integration=i))


# -------------------------------------------------------------------------------------------------- an invoice
def invoice(request, external_id):
    return _invoice_page(request, _invoice(request, external_id))


def _invoice_page(request, inv, **forms_):
    actor = Actor.from_request(request)
    audit.record(actor, AuditAction.BILLING_INVOICE_VIEWED, subject=inv, patient=inv.patient,
                 details={"number": inv.number})
    payments = list(inv.payments.select_related("by", "package").order_by("at", "pk"))
    lines = list(inv.lines.all())
    fig = services.figures(inv)
    services_billed = {x.service for x in lines}
    held = list(PatientPackage.objects.filter(patient=inv.patient, status=PatientPackage.Status.ACTIVE))
    packages = [p for p in held if p.service in services_billed] \
        if inv.kind == Invoice.Kind.SESSION and fig.balance > 0 and not inv.is_void else []
    refundable = services.refundable(inv)
    return render(request, "billing/invoice.html", {
        "invoice": inv, "patient": inv.patient, "lines": lines, "payments": payments, "figures": fig,
        "pay_form": forms_.get("pay_form") or f.PaymentForm(initial={"amount": fig.balance} if fig.balance > 0
                                                            else None),
        "refund_form": forms_.get("refund_form") or f.RefundForm(),
        "void_form": forms_.get("void_form") or f.VoidForm(),
        "draw_form": forms_.get("draw_form") or f.DrawForm(packages=packages), "packages": packages,
        "can_pay": can_open(request.user, "billing:pay") and not inv.is_void and fig.balance > 0,
        "can_refund": can_open(request.user, "billing:refund") and refundable["money"] + refundable["package"] > 0,
        "can_void": can_open(request.user, "billing:void") and not inv.is_void,
        "can_see_estimate": can_open(request.user, "billing:estimate"),
        "can_draw": can_open(request.user, "billing:draw") and bool(packages),
    })


def _one_of(offered, d: dict, field: str, refusal: str):
    """The row among ``offered`` (the choices the page showed) that the form's ``field`` names; when it names none
    of them (one not offered, or one gone since the page was drawn), ``refusal`` next to that field."""
    chosen = offered.filter(pk=d[field]).first()
    if chosen is None:
        raise services.BillingError({field: refusal})
    return chosen


def _on_invoice(request, inv, form, form_name, use_case, saved):
    return submit(request, form, use_case, refused_by=services.BillingError, saved=saved,
                  done=lambda _: _done_invoice(inv), again=lambda refused: _invoice_page(request, inv,
                                                                                         **{form_name: refused}))


@require_POST
def pay(request, external_id):
    inv = _invoice(request, external_id)
    return _on_invoice(request, inv, f.PaymentForm(posted(request)), "pay_form", lambda actor, d: services.take_payment(
        actor=actor, invoice=inv, method=d["method"], amount_cents=d["amount"], reference=d["reference"]),
        saved=lambda p: f"Payment of {dollars(p.amount_cents)} taken: receipt {p.receipt_number}.")


@require_POST
def refund(request, external_id):
    inv = _invoice(request, external_id)
    return _on_invoice(request, inv, f.RefundForm(posted(request)), "refund_form", lambda actor, d: services.refund(
        actor=actor, invoice=inv, method=d["method"], amount_cents=d["amount"], reason=d["reason"],
        reference=d["reference"]), saved=lambda p: f"Refund of {dollars(p.amount_cents)} recorded.")


@require_POST
def void(request, external_id):
    inv = _invoice(request, external_id)
    return _on_invoice(request, inv, f.VoidForm(posted(request)), "void_form", lambda actor, d: services.void_invoice(
        actor=actor, invoice=inv, reason=d["reason"]), saved="Invoice voided.")


@require_POST
def draw(request, external_id):
    inv = _invoice(request, external_id)
    packages = PatientPackage.objects.filter(patient=inv.patient, status=PatientPackage.Status.ACTIVE)
    form = f.DrawForm(posted(request), packages=packages)

    def use_case(actor, d):
        return services.draw(actor=actor, invoice=inv,
                             package=_one_of(packages, d, "package", "Choose one of the patient's packages."))

    return _on_invoice(request, inv, form, "draw_form", use_case, saved="Paid from the package.")


def receipt(request, external_id):
    payment = get_object_or_404(Payment.objects.select_related("invoice__patient__clinic", "by"),
                                external_id=external_id, invoice__clinic=current_clinic())
    guarded(request, payment.invoice)
    audit.record(Actor.from_request(request), AuditAction.BILLING_INVOICE_VIEWED, subject=payment.invoice,
                 patient=payment.invoice.patient, details={"receipt": payment.receipt_number})
    return render(request, "billing/receipt.html", {"payment": payment, "invoice": payment.invoice,
                                                    "clinic": payment.invoice.patient.clinic})


# -------------------------------------------------------------------------------------------- prices, profile
@require_http_methods(["GET", "POST"])
def prices(request):
    clinic = current_clinic()
    form = f.PriceForm(posted(request))
    return submit(request, form, lambda actor, d: services.set_price(
        actor=actor, clinic=clinic, service=d["service"], amount_cents=d["amount"], code=d["code"] or None,
        modifiers=d["modifiers"], units=d["units"] or 1, note=d["note"]), refused_by=services.BillingError,
        saved=lambda pv: f"{pv.get_service_display()}: {dollars(pv.amount_cents)} from now on (version {pv.version}).",
        done=lambda _: redirect("billing:prices"), again=lambda refused: _prices_page(request, clinic, refused))


def _prices_page(request, clinic, price_form, profile_form=None):
    current = services.current_prices(clinic)
    profile = services.profile_for(clinic)
    rows = [{"service": s, "price": current.get(s.value), "ref": services.CODES.get(s.value)} for s in Service]
    history = list(PriceVersion.objects.filter(clinic=clinic).select_related("created_by")
                   .order_by("service", "-version")[:200])
    return render(request, "billing/prices.html", {
        "rows": rows, "history": history, "price_form": price_form, "profile": profile,
        "profile_form": profile_form or f.ProfileForm(initial={
            "organisation_npi": profile.organisation_npi, "tax_id": profile.tax_id,
            "place_of_service": profile.place_of_service, "package_refund_rule": profile.package_refund_rule,
            "late_cancel_hours": profile.late_cancel_hours}),
    })


@require_POST
def profile(request):
    clinic = current_clinic()
    form = f.ProfileForm(posted(request))
    return submit(request, form, lambda actor, d: services.update_profile(actor=actor, clinic=clinic, **d),
                  refused_by=services.BillingError, saved="Billing details saved.",
                  done=lambda _: redirect("billing:prices"),
                  again=lambda refused: _prices_page(request, clinic, f.PriceForm(), refused))


# ---------------------------------------------------------------------------------------------------- packages
@require_http_methods(["GET", "POST"])
def packages(request):
    clinic = current_clinic()
    form = f.OfferForm(posted(request))
    return submit(request, form, lambda actor, d: services.add_offer(
        actor=actor, clinic=clinic, name=d["name"], kind=d["kind"], service=d["service"], sessions=d["sessions"],
        price_cents=d["price"]), refused_by=services.BillingError, saved="Package added.",
        done=lambda _: redirect("billing:packages"), again=lambda refused: _packages_page(request, clinic, refused))


def _packages_page(request, clinic, form):
    from ketaclinic.billing.money import allocate

    offers = list(PackageOffer.objects.filter(clinic=clinic).order_by("-active", "name", "pk"))
    current = services.current_prices(clinic)
    for o in offers:
        shares = allocate(o.price_cents, o.sessions)
        o.share_text = dollars(shares[0]) if len(set(shares)) == 1 else f"{dollars(shares[0])} / {dollars(shares[-1])}"
        list_price = current.get(o.service)
        o.saving = list_price.amount_cents * o.sessions - o.price_cents if list_price else None
    held = list(PatientPackage.objects.filter(offer__clinic=clinic, status=PatientPackage.Status.ACTIVE)
                .select_related("patient").order_by("-created_at")[:100])
    return render(request, "billing/packages.html", {"offers": offers, "form": form, "held": held,
                                                     "retire_form": ConfirmForm()})


@require_POST
def retire_offer(request, external_id):
    offer = get_object_or_404(PackageOffer, external_id=external_id, clinic=current_clinic())
    return submit(request, ConfirmForm(posted(request)), lambda actor, _: services.retire_offer(actor=actor, offer=offer),
                  refused_by=services.BillingError, saved="Package retired.", done=lambda _: redirect("billing:packages"),
                  again=lambda refused: _refused_to(request, refused, "billing:packages"))


def _refused_to(request, form, name, **kwargs):
    from django.contrib import messages

    for e in form.non_field_errors():
        messages.error(request, e)
    for field in form:
        for e in field.errors:
            messages.error(request, f"{field.label}: {e}")
    return redirect(name, **kwargs)


# ------------------------------------------------------------------------------------------ a patient's account
def account(request, external_id):
    return _account_page(request, _patient(request, external_id))


def _account_page(request, patient, **forms_):
    audit.record(Actor.from_request(request), AuditAction.BILLING_ACCOUNT_VIEWED, subject=patient, patient=patient)
    invoices = list(services.invoices_of(patient)[:100])
    for inv in invoices:
        inv.fig = services.annotated_figures(inv)
    held = services.packages_of(patient)
    rule, prices = services.profile_for(patient.clinic).package_refund_rule, services.current_prices(patient.clinic)
    for p in held:
        listed = prices.get(p.service)
        p.refund_due = services.refund_due(p, rule, list_price_cents=listed.amount_cents if listed else None) \
            if p.status == PatientPackage.Status.ACTIVE else 0
    offers = PackageOffer.objects.filter(clinic=patient.clinic, active=True)
    return render(request, "billing/account.html", {
        "patient": patient, "invoices": invoices, "packages": held, "statement": services.statement(patient),
        "balance": services.balance_of(patient),
        "estimates": list(Estimate.objects.filter(patient=patient).order_by("-created_at")[:20]),
        "sell_form": forms_.get("sell_form") or f.SellForm(offers=offers),
        "estimate_form": forms_.get("estimate_form") or f.EstimateDueForm(),
        "package_refund_form": f.PackageRefundForm(),
        "can_money": can_open(request.user, "billing:sell_package"),
        "can_estimate": can_open(request.user, "billing:record_estimate"),
    })


@require_POST
def sell_package(request, external_id):
    patient = _patient(request, external_id)
    offers = PackageOffer.objects.filter(clinic=patient.clinic, active=True)
    form = f.SellForm(posted(request), offers=offers)

    def use_case(actor, d):
        return services.sell_package(actor=actor, patient=patient,
                                     offer=_one_of(offers, d, "offer", "Choose a package on offer."))

    return submit(request, form, use_case, refused_by=services.BillingError, saved="Package sold: its invoice is open.",
                  done=lambda p: redirect("billing:account", external_id=patient.external_id),
                  again=lambda refused: _account_page(request, patient, sell_form=refused))


@require_POST
def refund_package(request, external_id):
    package = guarded(request, get_object_or_404(PatientPackage.objects.select_related("patient"),
                                                 external_id=external_id, patient__clinic=current_clinic()))
    form = f.PackageRefundForm(posted(request))
    return submit(request, form, lambda actor, d: services.refund_unused(
        actor=actor, package=package, method=d["method"], reference=d["reference"], reason=d["reason"]),
        refused_by=services.BillingError, saved="Package closed; unused sessions refunded by the clinic's rule.",
        done=lambda _: redirect("billing:account", external_id=package.patient.external_id),
        again=lambda refused: _refused_to(request, refused, "billing:account",
                                          external_id=package.patient.external_id))


@require_POST
def record_estimate(request, external_id):
    patient = _patient(request, external_id)
    form = f.EstimateDueForm(posted(request))
    return submit(request, form, lambda actor, d: services.record_due(
        actor=actor, patient=patient, reason=d["reason"], asked_on=d["asked_on"], service_on=d["service_on"],
        note=d["note"]), refused_by=services.BillingError,
        saved=lambda e: f"Estimate {e.number} is due by {e.due_on.isoformat()}.",
        done=lambda e: redirect("billing:estimate", external_id=e.external_id)
        if can_open(request.user, "billing:estimate") else redirect("billing:account", external_id=patient.external_id),
        again=lambda refused: _account_page(request, patient, estimate_form=refused))


# --------------------------------------------------------------------------------------------------- estimates
def _estimate(request, external_id) -> Estimate:
    return guarded(request, get_object_or_404(Estimate.objects.select_related("patient__clinic", "issued_by"),
                                              external_id=external_id, clinic=current_clinic()))


@require_http_methods(["GET", "POST"])
def estimate(request, external_id):
    est = _estimate(request, external_id)
    form = f.EstimateIssueForm(posted(request), initial={"service_on": est.service_on})
    return submit(request, form, lambda actor, d: services.issue_estimate(
        actor=actor, estimate=est, items=form.items(), service_on=d["service_on"], covers_until=d["covers_until"]),
        refused_by=services.BillingError, saved="Estimate issued: the patient sees it in the portal.",
        done=lambda e: redirect("billing:estimate", external_id=est.external_id),
        again=lambda refused: _estimate_page(request, est, refused))


def _estimate_page(request, est, form, withdraw_form=None):
    from ketaclinic.clinical import gfe

    audit.record(Actor.from_request(request), AuditAction.BILLING_ACCOUNT_VIEWED, subject=est, patient=est.patient,
                 details={"estimate": est.number})
    billed = sum(i.total_cents for i in est.invoices.filter(voided_at__isnull=True))
    return render(request, "billing/estimate.html", {
        "estimate": est, "patient": est.patient, "lines": list(est.lines.all()), "form": form,
        "withdraw_form": withdraw_form or f.WithdrawForm(), "billed": billed,
        "exceeded": est.status == Estimate.Status.ISSUED and gfe.exceeds_estimate(
            billed_cents=billed, estimated_cents=est.total_cents),
        "notice": gfe.DISPUTE_NOTICE, "notice_source": gfe.DISPUTE_NOTICE_SOURCE, "timing_source": gfe.SOURCE_TIMING,
        "dispute_source": gfe.SOURCE_DISPUTE, **services.gfe_context(est),
        "can_issue": can_open(request.user, "billing:estimate") and est.status == Estimate.Status.DUE,
    })


@require_POST
def withdraw_estimate(request, external_id):
    est = _estimate(request, external_id)
    form = f.WithdrawForm(posted(request))
    return submit(request, form, lambda actor, d: services.withdraw_estimate(actor=actor, estimate=est,
                                                                             reason=d["reason"]),
                  refused_by=services.BillingError, saved="Estimate withdrawn.",
                  done=lambda _: redirect("billing:estimate", external_id=est.external_id),
                  again=lambda refused: _estimate_page(request, est, f.EstimateIssueForm(), refused))


# ------------------------------------------------------------------------------------------ superbills and CSV
def superbill_pdf(request, external_id):
    patient = _patient(request, external_id)
    bills = superbills.superbills(Invoice.objects.filter(patient=patient))
    audit.record(Actor.from_request(request), AuditAction.BILLING_SUPERBILL_PRINTED, subject=patient,
                 patient=patient, details={"invoices": [b.invoice.number for b in bills]})
    response = HttpResponse(superbills.superbill_pdf(patient, bills), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="superbill-{patient.mrn}.pdf"'
    return response


def superbill_csv(request):
    clinic = current_clinic()
    form = f.PeriodForm(request.GET or None)
    if not form.is_valid():
        return render(request, "billing/export.html", {"form": form})
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    bills = superbills.superbills(superbills.in_period(clinic, start, end))
    audit.record(Actor.from_request(request), AuditAction.BILLING_SUPERBILL_EXPORTED,
                 details={"start": start.isoformat(), "end": end.isoformat(), "invoices": len(bills),
                          "patients": sorted({b.invoice.patient.mrn for b in bills})})
    return csv_response(f"superbills-{start}-{end}.csv", superbills.CSV_HEADER, superbills.csv_rows(bills))
