"""The price list: one price per service at a time, versioned (a new price is a new version; invoices keep the
version they were issued with), and the clinic's billing details.

The billing codes each service starts with, and where each comes from (the clinical reference clinical.md §5d; CPT
descriptors are the AMA's and are paraphrased there; the clinic's biller confirms each against a licensed code set
before use). A price version may carry another code: the clinic's biller decides; nothing here invents one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.billing.models import BillingProfile, PackageOffer, PriceVersion, RefundRule, Service
from ketaclinic.billing.money import MAX_CENTS, allocate, dollars
from ketaclinic.billing.services._common import MONEY_ROLES, BillingError, _roles, author, use_case
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.identifiers import check_npi


@dataclass(frozen=True)
class CodeRef:
    code: str
    status: str  # C confirmed, S secondary source, U unconfirmed (clinical.md's key)
    source: str


#: The codes table: the code each service starts with, its status and its source. No code for the no-show fee:
#: it is not a medical service and has no CPT/HCPCS code in the reference.
CODES: dict[str, CodeRef | None] = {
    Service.CONSULT: CodeRef("90792", "U", "clinical.md §5d 'Psychiatric diagnostic evaluation (without/with "
                                           "medical services) 90791 / 90792' (U); with medical services: the "
                                           "prescriber's evaluation"),
    Service.IV_INFUSION: CodeRef("96365", "S", "clinical.md §5d 'IV infusion, initial up to 1 h / each additional "
                                               "hour 96365 / 96366' (codes S, timing rule U); the drug (J3490 with "
                                               "NDC, C) is not a line of its own here"),
    Service.IM_INJECTION: CodeRef("96372", "U", "clinical.md §5d 'IM/SC therapeutic injection / IV push 96372 / "
                                                "96374' (U)"),
    Service.ESKETAMINE_56: CodeRef("G2082", "C", "clinical.md §5d 'Spravato session <= 56 mg ... G2082' (C: CMS "
                                                 "descriptor)"),
    Service.ESKETAMINE_84: CodeRef("G2083", "C", "clinical.md §5d 'Spravato session > 56 mg ... G2083' (C: CMS "
                                                 "descriptor)"),
    Service.INTEGRATION: CodeRef("90834", "U", "clinical.md §5d 'Psychotherapy 30/45/60 min 90832/90834/90837' (U);"
                                               " 45 min for the clinic's 50-minute integration session (the time "
                                               "thresholds between the codes are not in the reference)"),
    Service.FOLLOW_UP: CodeRef("99213", "S", "clinical.md §5d 'Office E/M ... established 99212-99215' (S: "
                                             "spravatohcp FAQ); the level is the clinician's to choose, 99213 is "
                                             "only the starting choice"),
    Service.NO_SHOW_FEE: None,
}

_CODE = re.compile(r"(\d{5}|[A-V]\d{4}|\d{4}[FTU])")
_MODIFIER = re.compile(r"[A-Z0-9]{2}")
_EIN = re.compile(r"\d{2}-?\d{7}")


def check_code(code: str) -> str:
    code = code.strip().upper()
    if code and not _CODE.fullmatch(code):
        raise BillingError({"code": "A CPT code is five digits (96365); a HCPCS code a letter and four digits "
                                    "(G2082)."})
    return code


def check_modifiers(text: str) -> str:
    parts = text.upper().replace(",", " ").split()
    if len(parts) > 4 or any(not _MODIFIER.fullmatch(p) for p in parts):
        raise BillingError({"modifiers": "Up to four modifiers of two letters or digits each (e.g. 25 GT)."})
    return " ".join(parts)


def current_prices(clinic) -> dict[str, PriceVersion]:
    """The price in force for each service that has one (one query)."""
    out: dict[str, PriceVersion] = {}
    for pv in PriceVersion.objects.filter(clinic=clinic).order_by("service", "-version"):
        out.setdefault(pv.service, pv)
    return out


def price_for(clinic, service: str) -> PriceVersion:
    pv = PriceVersion.objects.filter(clinic=clinic, service=service).order_by("-version").first()
    if pv is None:
        raise BillingError(f"No price is set for {Service(service).label}: set it on the price list first.")
    return pv


@use_case
def set_price(*, actor: Actor, clinic, service: str, amount_cents: int, code: str | None = None,
              modifiers: str = "", units: int = 1, note: str = "") -> PriceVersion:
    """A new version of ``service``'s price (and code). Earlier versions stay as they were."""
    _roles(actor, MONEY_ROLES, what="change prices")
    if service not in Service.values:
        raise BillingError({"service": "Choose a service from the list."})
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or not 0 < amount_cents <= MAX_CENTS:
        raise BillingError({"amount": f"Enter a price above $0.00 and at most {dollars(MAX_CENTS)}."})
    if not 1 <= units <= 99:
        raise BillingError({"units": "Units: 1 to 99."})
    if code is None:
        ref = CODES.get(service)
        code = ref.code if ref else ""
    code, modifiers = check_code(code), check_modifiers(modifiers)
    version = (PriceVersion.objects.filter(clinic=clinic, service=service).aggregate(v=Max("version"))["v"] or 0) + 1
    try:
        with transaction.atomic():
            pv = PriceVersion.objects.create(clinic=clinic, service=service, version=version, amount_cents=amount_cents,
                                             code=code, modifiers=modifiers, units=units, note=note,
                                             created_by=author(actor),
                                             created_at=timezone.now())
    except IntegrityError:
        raise BillingError("Someone else changed this price at the same moment: reload the price list.") from None
    audit.record(actor, AuditAction.BILLING_PRICE_SET, subject=pv,
                 details={"service": service, "version": version, "amount_cents": amount_cents, "code": code,
                          "modifiers": modifiers, "units": units})
    return pv


@use_case
def update_profile(*, actor: Actor, clinic, organisation_npi: str = "", tax_id: str = "",
                   place_of_service: str = "11", package_refund_rule: str = "prorated",
                   late_cancel_hours: int = 24) -> BillingProfile:
    """The clinic's billing details: its NPI (Luhn-checked), tax ID (EIN), place of service, the refund rule for
    unused package sessions and the late-cancellation window."""
    _roles(actor, MONEY_ROLES, what="change the clinic's billing details")
    errors: dict[str, str] = {}
    npi = ""
    if organisation_npi.strip():
        try:
            npi = check_npi(organisation_npi)
        except ClinicalInputError as e:
            errors["organisation_npi"] = str(e)
    ein = tax_id.strip()
    if ein and not _EIN.fullmatch(ein):
        errors["tax_id"] = "A tax ID (EIN) is nine digits, written 12-3456789."
    elif ein:
        digits = ein.replace("-", "")
        ein = f"{digits[:2]}-{digits[2:]}"
    if not re.fullmatch(r"\d{2}", place_of_service or ""):
        errors["place_of_service"] = "A place-of-service code is two digits (11 is Office)."
    if package_refund_rule not in RefundRule.values:
        errors["package_refund_rule"] = "Choose a refund rule."
    if not 0 <= late_cancel_hours <= 168:
        errors["late_cancel_hours"] = "Between 0 and 168 hours."
    if errors:
        raise BillingError(errors)
    profile = BillingProfile.objects.select_for_update().filter(clinic=clinic).first() or BillingProfile(clinic=clinic)
    before = {f: getattr(profile, f) for f in ("organisation_npi", "tax_id", "place_of_service",
                                               "package_refund_rule", "late_cancel_hours")}
    profile.organisation_npi, profile.tax_id, profile.place_of_service = npi, ein, place_of_service
    profile.package_refund_rule, profile.late_cancel_hours = package_refund_rule, late_cancel_hours
    profile.updated_at, profile.updated_by = timezone.now(), actor.user if actor.user_id else None
    profile.save()
    after = {f: getattr(profile, f) for f in before}
    audit.record(actor, AuditAction.BILLING_PROFILE_UPDATED, subject=profile,
                 details={"changed": {k: [before[k], after[k]] for k in before if before[k] != after[k]}})
    return profile


def price_summary(clinic) -> dict:
    """What a patient is shown before a series is booked: each priced service and the packages on offer, with the
    share per session (read-only)."""
    current = current_prices(clinic)
    rows = [{"label": s.label, "price": current[s.value].amount_cents} for s in Service if s.value in current]
    offers = []
    for o in PackageOffer.objects.filter(clinic=clinic, active=True).order_by("name"):
        shares = allocate(o.price_cents, o.sessions)
        list_price = current.get(o.service)
        offers.append({"name": o.name, "sessions": o.sessions, "price": o.price_cents, "per_session": shares[0],
                       "service": Service(o.service).label,
                       "list_total": list_price.amount_cents * o.sessions if list_price else None})
    return {"prices": rows, "offers": offers}
