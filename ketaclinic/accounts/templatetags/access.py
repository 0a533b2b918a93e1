"""``{% if request.user|can_open:"custody:setup" %}``: show a link only to people the access policy lets in."""

from __future__ import annotations

from django import template

from ketaclinic.access import rule_for

register = template.Library()


@register.filter
def can_open(user, url_name: str) -> bool:
    rule = rule_for(url_name)
    if rule is None or user is None or not getattr(user, "is_authenticated", False):
        return bool(rule and rule.public)
    if rule.public or rule.any_signed_in:
        return True
    if rule.patient:
        return hasattr(user, "patient_account")
    return user.has_role(*rule.roles)
