"""Custody pages. Thin: a form reads every POST, one service call, then a redirect or the page again with the
refusal next to its field (``_submit``). ``ketaclinic/access.py`` decides who may open each page; the services check
roles again (e.g. only compliance resolves incidents or reverses entries)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse as url_for
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.access import can_open
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic import formats
from ketaclinic.clinic.models import current_clinic, current_clinic_id
from ketaclinic.custody import forms, queries, reports, services
from ketaclinic.custody.models import (
    Container,
    Count,
    Incident,
    LedgerEntry,
    LossReport,
    PendingEvent,
    Product,
    Receipt,
    StorageLocation,
    Supplier,
)
from ketaclinic.custody.services import CustodyError
from ketaclinic.formfields import posted, say_refused, show_refusal
from ketaclinic.patients.careteam import guarded
from ketaclinic.treatments.models import TreatmentSession


def _submit(form, call: Callable[..., Any]) -> Any:
    """Every custody POST goes through here: the form reads and checks the input, then one service call with its
    ``cleaned_data`` as keyword arguments. Returns what the service returned, or None when the form or the service
    refused; the refusal is then on the form, next to its field (or above the form), and nothing was saved."""
    if not form.is_valid():
        return None
    try:
        return call(**form.cleaned_data)
    except CustodyError as e:
        show_refusal(form, e.errors)
        return None


def _form_messages(form) -> list[str]:
    """A form's errors as sentences, for a page that answers with a redirect and a message: each names its field
    ("Method of wastage: This field is required."), as the page it lands on shows no field beside it."""
    return [f"{form[field].label}: {' '.join(errs)}" if field in form.fields else " ".join(errs)
            for field, errs in form.errors.items()]


def _retention_years() -> int:
    return int(current_clinic().limits()["custody.record_retention_years"])


def home(request):
    clinic = current_clinic()
    ctx = queries.dashboard(clinic, request.user)
    ctx.update(clinic=clinic, retention_years=_retention_years())
    return render(request, "custody/home.html", ctx)


@require_http_methods(["GET", "POST"])
def receive(request):
    form = forms.ReceiptForm(posted(request))
    actor = Actor.from_request(request)
    if form.is_bound and (receipt := _submit(form, lambda **data: services.enter_receipt(actor, **data))) is not None:
        messages.success(request, "Receipt entered. A second person must now check the delivery and countersign "
                                  "it before the stock can be used.")
        return redirect("custody:receipt", external_id=receipt.external_id)
    return render(request, "custody/receive.html", {"form": form})


RECEIPT = Receipt.objects.select_related("supplier", "product", "entered_by", "countersigned_by", "location")


def receipt(request, external_id):
    r = get_object_or_404(RECEIPT, external_id=external_id, location__clinic_id=current_clinic_id())
    return _receipt_page(request, r, forms.ConfirmForm())


@require_POST
def countersign(request, external_id):
    """The receipt's countersignature by a second person; refused, the receipt page again with the reason."""
    r = get_object_or_404(RECEIPT, external_id=external_id, location__clinic_id=current_clinic_id())
    form = forms.ConfirmForm(posted(request))
    actor = Actor.from_request(request)
    if (containers := _submit(form, lambda: services.countersign_receipt(actor, r))) is not None:
        messages.success(request, f"Countersigned. {len(containers)} container(s) are now in stock.")
        return redirect("custody:receipt", external_id=r.external_id)
    return _receipt_page(request, r, form)


def _receipt_page(request, r: Receipt, form):
    containers = list(r.containers.all())
    return render(request, "custody/receipt.html", {"r": r, "containers": containers, "form": form,
                                                    "can_countersign": r.status == Receipt.Status.PENDING
                                                    and r.entered_by_id != request.user.pk
                                                    and can_open(request.user, "custody:countersign")})


def signatures(request):
    return render(request, "custody/signatures.html", queries.pending_for(request.user))


@require_http_methods(["GET", "POST"])
def witness(request, external_id):
    event = get_object_or_404(PendingEvent.objects.select_related("container__lot__product", "session__patient",
                                                                  "requested_by").filter(queries.here_events()),
                              external_id=external_id)
    if event.session_id:
        guarded(request, event.session)  # a session's waste names its patient
    form = forms.WitnessForm(posted(request))
    actor = Actor.from_request(request)
    if form.is_bound and _submit(form, lambda quantity_entered: services.attest(actor, event,
                                                                                quantity_entered)) is not None:
        messages.success(request, "Signed as witness.")
        return redirect("custody:signatures")
    if event.session_id:
        audit.record(actor, AuditAction.CUSTODY_WASTE_VIEWED, subject=event, patient=event.session.patient)
    unit = (event.container.lot.product.unit if event.container_id else _session_unit(event.session))
    return render(request, "custody/witness.html", {"event": event, "form": form, "unit": unit,
                                                    "signed": event.attestations.count()})


def _session_unit(session) -> str:
    first = (LedgerEntry.objects.filter(session=session, kind=LedgerEntry.Kind.DRAW)
             .select_related("lot__product").first())
    return first.lot.product.unit if first else "mL"


SESSION_ACTIONS = ("draw", "administer", "waste")


@require_http_methods(["GET", "POST"])
def session(request, external_id):
    """A session's custody: draws, administration, residue and its waste. Three forms, told apart by their hidden
    ``action`` field; each posts to one service call."""
    clinic = current_clinic()
    s = guarded(request, get_object_or_404(TreatmentSession.objects.select_related("patient", "room", "verified_by",
                                                                                   "administered_by"),
                                           external_id=external_id, patient__clinic=clinic))
    actor = Actor.from_request(request)
    drug_products = Product.objects.filter(drug=s.drug)
    containers = (Container.objects.filter(balance__gt=0, lot__product__in=drug_products, location__clinic=clinic)
                  .select_related("lot__product", "location").order_by("lot__expiry", "label"))
    action = forms.ActionForm(posted(request), choices=SESSION_ACTIONS).choice

    back = forms.BackForm(posted(request)).target if request.method == "POST" else ""

    def data(name):
        return posted(request) if action == name else None

    def done():
        if back == "cockpit":
            return redirect(url_for("treatments:cockpit", args=[s.external_id]) + "#account")
        return redirect("custody:session", external_id=s.external_id)

    draw_form = forms.DrawForm(data("draw"), containers=containers, prefix="draw")
    administer_form = forms.ConfirmForm(data("administer"), prefix="administer")
    waste_form = forms.WasteForm(data("waste"), prefix="waste")
    if request.method == "POST" and action is None:
        messages.error(request, "That form is not on this page; reload the page and try again.")
    elif action == "draw":
        entry = _submit(draw_form, lambda container, quantity: services.draw(
            actor, container=container, session=s, quantity=quantity, clinic=clinic))
        if entry is not None:
            messages.success(request, f"Drew {entry.quantity} {entry.lot.product.unit} ({entry.mg} mg) from "
                                      f"{entry.container.label}; {entry.details['remaining_after']} remain.")
            return done()
    elif action == "administer":
        entries = _submit(administer_form, lambda: services.record_administration(actor, s))
        if entries is not None:
            unit = entries[0].lot.product.unit if entries else ""
            messages.success(request, f"Administration recorded ({sum(e.quantity for e in entries)} {unit}).")
            return done()
    elif action == "waste":
        event = _submit(waste_form, lambda **data: services.request_waste(actor, session=s, clinic=clinic, **data))
        if event is not None:
            if event.status == PendingEvent.Status.POSTED:
                messages.success(request, "Waste recorded.")
            else:
                messages.success(request, f"Waste recorded; it posts once {event.witnesses_required} "
                                          "witness(es) sign it, each on their own sign-in.")
            return done()
    if back == "cockpit" and action is not None:  # refused: say why, back where the nurse was
        for form in (draw_form, administer_form, waste_form):
            for msg in _form_messages(form):
                say_refused(request, msg)
        return done()
    audit.record(actor, AuditAction.CUSTODY_SESSION_VIEWED, subject=s, patient=s.patient)
    draws = services.session_draws(s)
    residue = sum((d.residue for d in draws), Decimal("0.00"))
    pending = list(PendingEvent.objects.filter(session=s, status=PendingEvent.Status.PENDING))
    administered = any(d.administered for d in draws)
    if not waste_form.is_bound and residue > 0:
        waste_form = forms.WasteForm(prefix="waste",
                                     initial={"quantity": residue - sum((p.quantity for p in pending), Decimal(0))})
    return render(request, "custody/session.html", {
        # the unit the residue is counted in: the drawn products' (mL of a vial, nasal devices)
        "unit": draws[0].entry.container.lot.product.unit if draws else "",
        "s": s, "draws": draws, "residue": residue, "pending": pending, "administered": administered,
        "draw_form": draw_form, "administer_form": administer_form, "waste_form": waste_form,
        "problems": services.session_problems(s), "drawn_mg": sum((d.entry.mg for d in draws), Decimal("0.00")),
    })


CONTAINER = Container.objects.select_related("lot__product", "location", "receipt__supplier")


def container(request, external_id):
    return _container_page(request, get_object_or_404(CONTAINER, external_id=external_id,
                                                      location__clinic_id=current_clinic_id()))


def _container_page(request, c: Container, **bound_forms):
    """The container's page; after a refused destruction, loss or return, with that form as posted and its
    errors (``bound_forms``: ``destroy_form``, ``loss_form`` or ``return_form``)."""
    entries = list(c.entries.select_related("patient", "witness", "witness2", "reverses").order_by("seq"))
    clinic = current_clinic()
    _audit_container_view(Actor.from_request(request), c, entries)
    return render(request, "custody/container.html", {
        "c": c, "entries": entries, "problems": services.container_problems(c, None, clinic),
        "destroy_form": forms.DestroyForm(initial={"quantity": c.balance}, prefix="destroy"),
        "loss_form": forms.LossForm(initial={"discovered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")},
                                    prefix="loss"),
        "return_form": forms.ReturnForm(initial={"quantity": c.balance}, prefix="return"),
        **bound_forms,
    })


def _audit_container_view(actor: Actor, c: Container, entries: list[LedgerEntry]) -> None:
    """The container's ledger names the patients dosed from it: one ``custody.container.viewed`` entry per
    patient shown (so each patient's access history finds it), or one without a patient when none is shown."""
    named = {}
    for e in entries:
        if e.patient_id and e.patient_id not in named:
            named[e.patient_id] = e.patient
    details = {"container": c.label, "entries": len(entries),
               "patients": [str(p.external_id) for p in named.values()]}
    for p in named.values() or [None]:
        audit.record(actor, AuditAction.CUSTODY_CONTAINER_VIEWED, subject=c, patient=p, details=details)


def _dispose(request, external_id, action: str, form_class, service, done: Callable[[Container, Any], HttpResponse]):
    """One of the container page's three forms (``action``: its prefix), each posted to a view of its own so the
    access policy decides who sees and sends it: a refusal shows the container page again with the form as posted
    and the message next to its field; else ``done(container, what the service wrote)``."""
    c = get_object_or_404(CONTAINER, external_id=external_id, location__clinic_id=current_clinic_id())
    form = form_class(posted(request), prefix=action)
    actor = Actor.from_request(request)
    result = _submit(form, lambda **data: service(actor, container=c, **data))
    if result is None:
        return _container_page(request, c, **{f"{action}_form": form})
    return done(c, result)


@require_POST
def destroy(request, external_id):
    def done(c, _):
        messages.success(request, "Destruction recorded; it posts once two witnesses sign (DEA Form 41).")
        return redirect("custody:container", external_id=c.external_id)

    return _dispose(request, external_id, "destroy", forms.DestroyForm, services.request_destruction, done)


@require_POST
def report_loss(request, external_id):
    def done(_, loss):
        messages.warning(request, "Loss recorded. Send the WRITTEN notice to the DEA Field Division by "
                                  f"{timezone.localtime(loss.notice_due_at):{formats.DAY_DATETIME}}, then file "
                                  f"DEA Form 106 electronically by {loss.form106_due_on:{formats.DATE}}.")
        return redirect("custody:loss", external_id=loss.external_id)

    return _dispose(request, external_id, "loss", forms.LossForm, services.report_loss, done)


@require_POST
def return_stock(request, external_id):
    def done(c, _):
        messages.success(request, "Return to the reverse distributor recorded.")
        return redirect("custody:container", external_id=c.external_id)

    return _dispose(request, external_id, "return", forms.ReturnForm, services.return_stock, done)


@require_http_methods(["GET", "POST"])
def loss(request, external_id):
    report = get_object_or_404(LossReport.objects.select_related("reported_by", "notice_sent_by"),
                               external_id=external_id, clinic_id=current_clinic_id())
    form = forms.LossNoticeForm(posted(request))
    actor = Actor.from_request(request)
    if form.is_bound and _submit(form, lambda **data: services.record_loss_notice(actor, report, **data)) is not None:
        messages.success(request, "Saved.")
        return redirect("custody:loss", external_id=report.external_id)
    entries = list(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.LOSS, details__report=str(report.external_id))
                   .select_related("lot__product", "container"))
    return render(request, "custody/loss.html", {"report": report, "form": form, "entries": entries,
                                                 "now": timezone.now()})


@require_http_methods(["GET", "POST"])
def count(request):
    """A blind count: the page never shows the book balance before the count is signed."""
    clinic = current_clinic()
    stores = StorageLocation.objects.filter(clinic=clinic, active=True)
    locations = list(stores)
    scope = forms.CountScopeForm(request.GET if request.method == "GET" else posted(request), locations=stores)
    scope.is_valid()
    # The page's selector falls back to the first store and a routine count; a posted count must name both.
    location = scope.cleaned_data.get("location") or (locations[0] if locations else None)
    kind = scope.cleaned_data.get("kind") or Count.Kind.ROUTINE
    containers = list(Container.objects.filter(location=location, balance__gt=0)
                      .select_related("lot__product").order_by("lot__product__name", "label")) if location else []
    inventory = kind != Count.Kind.ROUTINE
    form = forms.CountForm(posted(request) if scope.is_valid() else None, containers=containers, inventory=inventory)
    actor = Actor.from_request(request)
    refused = ""
    if request.method == "POST" and not scope.is_valid():
        refused = "That store or kind of count is not on this page; choose them again. The count was not signed."
    elif form.is_bound and (result := _submit(form, lambda lines, timing: services.submit_count(
            actor, location=location, kind=kind, lines=lines, timing=timing))) is not None:
        if result.discrepancies:
            messages.warning(request, f"Count signed with {result.discrepancies} discrepancy(ies); an incident "
                                      "is open for the compliance lead.")
        else:
            messages.success(request, "Count signed: it matches the ledger.")
        return redirect("custody:count_detail", external_id=result.external_id)
    return render(request, "custody/count.html", {
        "locations": locations, "location": location, "kind": kind, "kinds": Count.Kind.choices,
        "rows": form.rows(), "form": form, "inventory": inventory, "refused": refused,
    })


def count_detail(request, external_id):
    c = get_object_or_404(Count.objects.select_related("location", "counted_by"), external_id=external_id,
                          location__clinic_id=current_clinic_id())
    lines = list(c.lines.select_related("container__lot__product", "incident").order_by("container__label"))
    return render(request, "custody/count_detail.html", {"count": c, "lines": lines})


INCIDENT = Incident.objects.select_related("count_line__container__lot__product", "count_line__count__counted_by",
                                           "resolved_by", "entry")


def incident(request, external_id):
    inc = get_object_or_404(INCIDENT, external_id=external_id, count_line__count__location__clinic_id=current_clinic_id())
    return render(request, "custody/incident.html", {"inc": inc, "form": forms.IncidentForm()})


@require_POST
def resolve_incident(request, external_id):
    """The compliance lead closes a count discrepancy; refused, the incident page again with the form as posted."""
    inc = get_object_or_404(INCIDENT, external_id=external_id, count_line__count__location__clinic_id=current_clinic_id())
    form = forms.IncidentForm(posted(request))
    actor = Actor.from_request(request)
    if _submit(form, lambda **data: services.resolve_incident(actor, inc, **data)) is not None:
        messages.success(request, "Incident resolved.")
        return redirect("custody:incident", external_id=inc.external_id)
    return render(request, "custody/incident.html", {"inc": inc, "form": form})


def reconciliation(request):
    rec = services.reconciliation(clinic_id=current_clinic_id())
    if request.GET.get("format") == "csv":
        header = ["Product", "NDC", "Lot", "Expiry", "Unit", "Received", "Administered", "Wasted", "Destroyed", "Lost",
                  "Returned", "On hand", "Drawn, awaiting", "Count adjustments", "Difference", "Balances"]
        rows = [[r.lot.product.name, r.lot.product.ndc, r.lot.lot_number, str(r.lot.expiry), r.unit, r.received,
                 r.administered, r.wasted, r.destroyed, r.lost, r.returned, r.on_hand, r.in_process, r.adjusted,
                 r.difference, "yes" if r.balances else "NO"] for r in rec.rows]
        audit.record(Actor.from_request(request), AuditAction.CUSTODY_RECONCILIATION_EXPORTED, details={"rows": len(rows)})
        return reports.csv_response("custody-reconciliation.csv", header, rows)
    return render(request, "custody/reconciliation.html", {"rec": rec, "now": timezone.now()})


def ledger(request):
    entries = (LedgerEntry.objects.filter(container__location__clinic_id=current_clinic_id())
               .select_related("lot__product", "container", "patient", "witness", "witness2", "reverses")
               .order_by("-seq"))
    kind = request.GET.get("kind")
    if kind in LedgerEntry.Kind.values:
        entries = entries.filter(kind=kind)
    else:
        kind = None  # the page shows every kind, and the audit entry and the filter say so
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    patients = list(dict.fromkeys(str(e.patient.external_id) for e in page if e.patient_id))
    audit.record(Actor.from_request(request), AuditAction.CUSTODY_LEDGER_VIEWED,
                 details={"page": page.number, "kind": kind, "patients": patients})
    return render(request, "custody/ledger.html", {
        "page": page, "kinds": LedgerEntry.Kind.choices, "kind": kind,
        "reverse_form": forms.ReverseForm(auto_id=False, initial={"kind": kind, "page": page.number}),
        "can_reverse": can_open(request.user, "custody:reverse"), "retention_years": _retention_years()})


@require_POST
def reverse(request, external_id):
    entry = get_object_or_404(LedgerEntry, external_id=external_id, container__location__clinic_id=current_clinic_id())
    form = forms.ReverseForm(posted(request))
    actor = Actor.from_request(request)
    rev = _submit(form, lambda reason, **place: services.reverse_entry(actor, entry, reason))
    if rev is None:
        for msg in _form_messages(form):
            say_refused(request, msg)
    else:
        messages.success(request, f"Entry #{entry.seq} reversed by entry #{rev.seq}.")
    place = urlencode(form.place)  # back to the page and filter the form was on
    return redirect(url_for("custody:ledger") + (f"?{place}" if place else ""))


# Report periods: dates outside this window are clamped (with a note on the page), never a server error.
REPORT_EARLIEST = date(1900, 1, 1)
REPORT_AHEAD_DAYS = 365


def _period(request, default_days: int = 30) -> tuple[date, date, list[str]]:
    """The report's ``from`` and ``to`` dates (YYYY-MM-DD), parsed strictly and clamped to
    1900-01-01 .. today + 1 year; returns (start, end, notes for the page)."""
    today = timezone.localdate()
    earliest, latest = REPORT_EARLIEST, today + timedelta(days=REPORT_AHEAD_DAYS)
    notes: list[str] = []

    def parse(name: str, label: str) -> date | None:
        raw = (request.GET.get(name) or "").strip()
        if not raw:
            return None
        try:
            value = date.fromisoformat(raw)
        except (ValueError, OverflowError, TypeError):
            notes.append(f"“{raw[:20]}” is not a date like 2026-01-31; the {label} date was ignored.")
            return None
        if value < earliest:
            notes.append(f"The {label} date {value.isoformat()} is before {earliest.isoformat()}; "
                         f"showing from {earliest.isoformat()}.")
            return earliest
        if value > latest:
            notes.append(f"The {label} date {value.isoformat()} is more than a year ahead; "
                         f"using {latest.isoformat()}.")
            return latest
        return value

    end = parse("to", "end") or today
    start = parse("from", "start") or max(earliest, end - timedelta(days=default_days))
    if start > end:
        notes.append("The start date was after the end date; the two were swapped.")
        start, end = end, start
    return start, end, notes


def dispensing_record(request):
    clinic = current_clinic()
    start, end, notes = _period(request)
    patients: set[str] = set()
    header, rows = reports.dispensing_rows(start, end, clinic.tz, patients=patients, clinic_id=clinic.pk)
    rheader, rrows = reports.receipt_rows(start, end, clinic.tz, clinic_id=clinic.pk)
    fmt = request.GET.get("format")
    if fmt not in ("csv", "pdf"):
        fmt = "html"
    # The record names patients: the audit entry says which ones, whatever the format (HTML, CSV, PDF).
    audit.record(Actor.from_request(request), AuditAction.CUSTODY_DISPENSING_RECORD_VIEWED,
                 details={"from": start, "to": end, "format": fmt, "rows": len(rows),
                          "patients": sorted(patients)})
    note = reports.RETENTION_NOTE.format(years=_retention_years())
    if fmt == "csv":
        return reports.csv_response(f"dispensing-record-{start}-{end}.csv", header, rows)
    if fmt == "pdf":
        subtitle = (f"{clinic.name} · {clinic.address} · DEA {clinic.dea_registration} · {start} to {end}. "
                    f"Ketamine and esketamine: DEA Schedule III, drug code 7285. {note}")
        return reports.pdf_response(f"dispensing-record-{start}-{end}.pdf", "Controlled-substance dispensing record "
                                    "(21 CFR 1304.22(c))", subtitle,
                                    [("Received (1304.22(c)(3))", rheader, rrows),
                                     ("Administered and disposed of (1304.22(c)(4)-(5))", header, rows)])
    return render(request, "custody/dispensing.html", {"header": header, "rows": rows, "rheader": rheader,
                                                       "rrows": rrows, "start": start, "end": end, "note": note,
                                                       "period_notes": notes})


def inventory_record(request):
    clinic = current_clinic()
    start, end, notes = _period(request, default_days=365 * 2)
    header, rows = reports.inventory_rows(start, end, clinic_id=clinic.pk)
    fmt = request.GET.get("format")
    if fmt not in ("csv", "pdf"):
        fmt = None
    note = reports.RETENTION_NOTE.format(years=_retention_years())
    audit.record(Actor.from_request(request), AuditAction.CUSTODY_INVENTORY_RECORD_VIEWED,
                 details={"from": start, "to": end, "format": fmt or "html"})
    if fmt == "csv":
        return reports.csv_response(f"inventory-record-{start}-{end}.csv", header, rows)
    if fmt == "pdf":
        subtitle = f"{clinic.name} · {clinic.address} · DEA {clinic.dea_registration} · {start} to {end}. {note}"
        return reports.pdf_response(f"inventory-record-{start}-{end}.pdf", "Controlled-substance counts and "
                                    "inventories (21 CFR 1304.11)", subtitle, [("Counts", header, rows)])
    return render(request, "custody/inventory.html", {"header": header, "rows": rows, "start": start, "end": end,
                                                      "note": note, "period_notes": notes})


SETUP_FORMS = ("supplier", "product", "location")


@require_http_methods(["GET", "POST"])
def setup(request):
    clinic = current_clinic()
    actor = Actor.from_request(request)
    # The hidden selector is "which": the product form has its own field named "form" (vial or device).
    which = forms.ActionForm(posted(request), choices=SETUP_FORMS, field="which").choice
    supplier_form = forms.SupplierForm(posted(request) if which == "supplier" else None)
    product_form = forms.ProductForm(posted(request) if which == "product" else None)
    location_form = forms.LocationForm(posted(request) if which == "location" else None, clinic=clinic)
    add = {"supplier": (supplier_form, lambda **data: services.add_supplier(actor, **data)),
           "product": (product_form, lambda **data: services.add_product(actor, **data)),
           "location": (location_form, lambda **data: services.add_location(actor, clinic=clinic, **data))}
    if request.method == "POST" and which is None:
        messages.error(request, "That form is not on this page; reload the page and try again.")
    elif which is not None and _submit(*add[which]) is not None:
        messages.success(request, f"{which.title()} added.")
        return redirect("custody:setup")
    return render(request, "custody/setup.html", {
        "supplier_form": supplier_form, "product_form": product_form, "location_form": location_form,
        "suppliers": Supplier.objects.all(), "products": Product.objects.all(),
        "locations": StorageLocation.objects.filter(clinic=clinic).prefetch_related("rooms"),
        "stock_by_product": {p["lot__product"]: p["t"] for p in Container.objects.filter(location__clinic=clinic)
                             .values("lot__product").annotate(t=Sum("balance"))},
    })
