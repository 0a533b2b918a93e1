"""``{% load plaintime %}``: times in plain units (ketaclinic.plaintime). ``{{ start|since:now }}`` → "41 min",
``{{ due_at|due:now }}`` → "due in 3 min" / "due now" / "overdue by 2 min", ``{{ at|until:now }}`` → "in 25 min",
``{{ 65|minutes }}`` → "1 hour 5 min".
Without ``now`` (``{{ due_at|due }}``) they read the present moment."""

from __future__ import annotations

from django import template
from django.utils import timezone

from ketaclinic import plaintime

register = template.Library()


@register.filter(name="since")
def since(start, now=None):
    return plaintime.since(start, now or timezone.now()) if start else ""


@register.filter(name="due")
def due(at, now=None):
    return plaintime.due(at, now or timezone.now()) if at else ""


@register.filter(name="until")
def until(at, now=None):
    return plaintime.until(at, now or timezone.now()) if at else ""


@register.filter(name="minutes")
def minutes(count):
    return plaintime.duration(count) if count is not None else ""
