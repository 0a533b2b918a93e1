"""``{% load plaintime %}``: times in plain units (ketaclinic.plaintime). ``{{ start|since:now }}`` → "41 min",
``{{ due_at|due:now }}`` → "due in 3 min" / "due now" / "overdue by 2 min", ``{{ at|until:now }}`` → "in 25 min"."""

from __future__ import annotations

from django import template

from ketaclinic import plaintime

register = template.Library()


@register.filter(name="since")
def since(start, now):
    return plaintime.since(start, now) if start and now else ""


@register.filter(name="due")
def due(at, now):
    return plaintime.due(at, now) if at and now else ""


@register.filter(name="until")
def until(at, now):
    return plaintime.until(at, now) if at and now else ""
