"""``{% load money %}`` / ``{{ cents|dollars }}``: whole cents shown as the clinic shows money ("$1,234.50")."""

from __future__ import annotations

from django import template

from ketaclinic.billing.money import dollars as _dollars

register = template.Library()


@register.filter
def dollars(cents) -> str:
    if cents in (None, ""):
        return ""
    return _dollars(int(cents))
