"""Set-up by the clinic administrator: suppliers (with a checked DEA number), products, storage locations."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinic.models import Clinic
from ketaclinic.clinical import custody as rules
from ketaclinic.clinical.identifiers import check_dea_number
from ketaclinic.custody.models import Product, StorageLocation, Supplier
from ketaclinic.custody.services.common import (
    MAX_UNITS_PER_PACKAGE,
    SETUP,
    CustodyError,
    _require,
    parse_quantity,
    settings_for,
    use_case,
)
from ketaclinic.inputs import ascii_digits


@use_case
def add_supplier(actor: Actor, *, name: str, address: str, dea_number: str,
                 kind: str = Supplier.Kind.DISTRIBUTOR) -> Supplier:
    _require(actor, SETUP, "manage suppliers")
    errors = {}
    if not name.strip():
        errors["name"] = "Enter the supplier's name."
    if not address.strip():
        errors["address"] = "Enter the supplier's address (21 CFR 1304.22(c)(3))."
    dea = "".join(dea_number.split()).upper()
    if not (result := check_dea_number(dea)).valid:
        errors["dea_number"] = "; ".join(result.problems)
    if errors:
        raise CustodyError(errors)
    supplier = Supplier.objects.create(name=name.strip(), address=address.strip(), dea_number=dea, kind=kind)
    audit.record(actor, AuditAction.CUSTODY_SUPPLIER_ADDED, subject=supplier, details={"name": supplier.name, "dea": dea})
    return supplier


@use_case
def add_product(actor: Actor, *, ndc: str, name: str, drug: str, form: str, strength_mg_per_mL=None,
                container_volume_mL=None, device_mg=None, units_per_package: int = 1) -> Product:
    _require(actor, SETUP, "manage products")
    errors: dict[str, str] = {}
    ndc = ndc.strip()
    digits = ndc.replace("-", "")
    if not ascii_digits(digits) or len(digits) not in (10, 11):
        errors["ndc"] = "An NDC has 10 or 11 digits (e.g. 50458-028-02)."
    elif Product.objects.filter(ndc=ndc).exists():
        errors["ndc"] = "A product with this NDC already exists."
    if not name.strip():
        errors["name"] = "Enter the product name."
    if form == Product.Form.VIAL:
        strength_mg_per_mL = _positive(strength_mg_per_mL, "strength_mg_per_mL", errors)
        container_volume_mL = _positive(container_volume_mL, "container_volume_mL", errors)
        maximum = Decimal(str(settings_for()["dosing.max_concentration_mg_per_mL"]))
        if strength_mg_per_mL and strength_mg_per_mL > maximum:
            errors["strength_mg_per_mL"] = f"Above the highest accepted concentration ({maximum} mg/mL)."
        device_mg = None
    elif form == Product.Form.DEVICE:
        device_mg = _positive(device_mg, "device_mg", errors)
        strength_mg_per_mL = container_volume_mL = None
    else:
        errors["form"] = "Choose vial or device."
    if not 1 <= units_per_package <= MAX_UNITS_PER_PACKAGE:
        errors["units_per_package"] = f"Between 1 and {MAX_UNITS_PER_PACKAGE} vials or devices per package."
    if errors:
        raise CustodyError(errors)
    product = Product.objects.create(
        ndc=ndc, name=name.strip(), drug=drug, form=form, strength_mg_per_mL=strength_mg_per_mL,
        container_volume_mL=container_volume_mL, device_mg=device_mg, units_per_package=units_per_package,
        dea_schedule=rules.DEA_SCHEDULE, dea_drug_code=rules.DEA_DRUG_CODE,
    )
    audit.record(actor, AuditAction.CUSTODY_PRODUCT_ADDED, subject=product, details={"ndc": ndc, "name": product.name})
    return product


def _positive(raw, field: str, errors: dict) -> Decimal | None:
    try:
        return parse_quantity(raw, field)
    except CustodyError as e:
        errors.update(e.errors)
        return None


@use_case
def add_location(actor: Actor, *, clinic: Clinic, name: str, rooms: Iterable = ()) -> StorageLocation:
    _require(actor, SETUP, "manage storage locations")
    if not name.strip():
        raise CustodyError({"name": "Name the store (e.g. 'Main safe')."})
    if StorageLocation.objects.filter(clinic=clinic, name=name.strip()).exists():
        raise CustodyError({"name": "A store with this name already exists."})
    rooms = list(rooms)
    if any(room.clinic_id != clinic.pk for room in rooms):
        # stock is held under the clinic's own DEA registration: a store never supplies another clinic's rooms
        raise CustodyError({"rooms": "A store supplies only rooms of its own clinic."})
    location = StorageLocation.objects.create(clinic=clinic, name=name.strip())
    location.rooms.set(rooms)
    audit.record(actor, AuditAction.CUSTODY_LOCATION_ADDED, subject=location,
                 details={"name": location.name, "rooms": [r.name for r in location.rooms.all()]})
    return location
