"""``{% if request.user|can_open:"custody:setup" %}``: show a link only to people the access policy lets in."""

from __future__ import annotations

from django import template

from ketaclinic import access

register = template.Library()


@register.filter
def can_open(user, url_name: str) -> bool:
    return access.can_open(user, url_name)
