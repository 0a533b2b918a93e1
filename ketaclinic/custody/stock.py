"""What the clinic has on hand, told to the treatments app (which must not import custody).

A dose is prepared from counted stock: the strengths offered in the cockpit are those of the clinic's vials with
volume left in a container whose lot has not expired. A clinic that keeps no product records in KetaClinic
(no ``Product`` at all) gets ``None``: the cockpit then offers the label strengths.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from ketaclinic.custody.models import Container, Product


def stocked_strengths(clinic, drug: str) -> tuple[Decimal, ...] | None:
    """The mg/mL strengths of ``drug`` vials with volume on hand and an unexpired lot, or None when the clinic
    records no products (stock unknown)."""
    if not Product.objects.exists():
        return None
    today = timezone.localdate(timezone=clinic.tz) if clinic is not None else timezone.localdate()
    rows = (Container.objects
            .filter(lot__product__drug=drug, lot__product__form=Product.Form.VIAL, balance__gt=0,
                    lot__expiry__gte=today)
            .values_list("lot__product__strength_mg_per_mL", flat=True).distinct())
    return tuple(sorted({Decimal(v) for v in rows if v is not None}))
