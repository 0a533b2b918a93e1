"""The patient's own billing in the portal: balance, invoices with their receipts, Good Faith Estimates, packages,
the superbill PDF, and what a series costs before it is booked. Every id in a URL is looked up within the
signed-in patient's own records (anything else is a 404); every page is audited (the portal's ``portal_page``)."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from ketaclinic.audit.actions import AuditAction
from ketaclinic.billing import services
from ketaclinic.billing.forms import SuperbillForm
from ketaclinic.billing.models import Estimate, Invoice, Payment
from ketaclinic.billing.services import superbills
from ketaclinic.clinical import gfe
from ketaclinic.portal.views import portal_page


@portal_page(AuditAction.BILLING_PORTAL_VIEWED)
def my_billing(request):
    patient = request.patient
    invoices = list(services.invoices_of(patient).filter(voided_at__isnull=True)[:50])
    for inv in invoices:
        inv.fig = services.annotated_figures(inv)
    held = services.packages_of(patient)
    return render(request, "billing/portal/home.html", {
        "patient": patient, "invoices": invoices, "balance": services.balance_of(patient),
        "estimates": list(Estimate.objects.filter(patient=patient, status=Estimate.Status.ISSUED)
                          .order_by("-issued_at")),
        "packages": held, "summary": services.price_summary(patient.clinic),
        "has_superbill": any(i.kind in superbills.SERVICE_KINDS for i in invoices),
    })


@portal_page(AuditAction.BILLING_PORTAL_INVOICE_VIEWED)
def my_invoice(request, external_id):
    inv = get_object_or_404(Invoice, external_id=external_id, patient=request.patient)
    return render(request, "billing/portal/invoice.html", {
        "invoice": inv, "lines": list(inv.lines.all()), "figures": services.figures(inv),
        "payments": list(Payment.objects.filter(invoice=inv).order_by("at", "pk")),
        "superbill": inv.kind in superbills.SERVICE_KINDS and not inv.is_void,
    })


@portal_page(AuditAction.BILLING_PORTAL_ESTIMATE_VIEWED)
def my_estimate(request, external_id):
    est = get_object_or_404(Estimate, external_id=external_id, patient=request.patient,
                            status=Estimate.Status.ISSUED)
    return render(request, "billing/portal/estimate.html", {
        "estimate": est, "lines": list(est.lines.all()), "clinic": request.patient.clinic,
        "notice": gfe.DISPUTE_NOTICE, **services.gfe_context(est)})


@portal_page(AuditAction.BILLING_PORTAL_SUPERBILL_DOWNLOADED)
def my_superbill(request):
    """The patient's superbill PDF: all their service invoices, or one (``?invoice=<id>``, their own only)."""
    patient = request.patient
    form = SuperbillForm(request.GET or None)
    invoices = Invoice.objects.filter(patient=patient)
    if form.is_bound:
        if not form.is_valid():
            raise Http404("No such invoice.")
        if form.cleaned_data["invoice"]:
            invoices = invoices.filter(external_id=form.cleaned_data["invoice"])
            if not invoices.exists():
                    raise Http404("No such invoice.")
    bills = superbills.superbills(invoices)
    response = HttpResponse(superbills.superbill_pdf(patient, bills), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="superbill.pdf"'
    return response

