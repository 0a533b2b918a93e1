"""What the clinic has on hand, told to the treatments app (which must not import custody).

A dose is prepared from counted stock: the strengths offered in the cockpit are those of vials the session could
be drawn from now (:func:`ketaclinic.custody.services.dispensing.container_problems`: volume left, lot not
expired, opened vial within its beyond-use time, the right drug, kept in a store that supplies the session's
room). A clinic that keeps no vial records of that drug in KetaClinic gets ``None``: the cockpit then offers the
label strengths.
"""

from __future__ import annotations

from decimal import Decimal

from ketaclinic.custody.models import Container, Product
from ketaclinic.custody.services.dispensing import container_problems


def stocked_strengths(session) -> tuple[Decimal, ...] | None:
    """The mg/mL strengths of the vials ``session`` could draw from now, or None when the clinic records no vials
    of its drug (stock unknown). Three queries, whatever the stock."""
    if not Product.objects.filter(drug=session.drug, form=Product.Form.VIAL).exists():
        return None
    clinic = session.patient.clinic
    containers = (Container.objects
                  .filter(location__clinic=clinic, lot__product__drug=session.drug,
                          lot__product__form=Product.Form.VIAL, lot__product__active=True, balance__gt=0)
                  .select_related("lot__product", "location").prefetch_related("location__rooms"))
    return tuple(sorted({c.lot.product.strength_mg_per_mL for c in containers
                         if not container_problems(c, session, clinic)}))
