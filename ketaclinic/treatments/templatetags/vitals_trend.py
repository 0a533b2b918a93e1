"""``{% vitals_trend rows pre_rows s as trend %}``: the cockpit's vitals trend (ketaclinic.treatments.vitals_trend)
from the rows already in the page's context; the clinic is loaded with the session, so this reads no database."""

from __future__ import annotations

from django import template
from django.utils import timezone

from ketaclinic.treatments import vitals_trend as trend

register = template.Library()


@register.simple_tag
def vitals_trend(rows, pre_rows, session):
    before = session.dose_started_at is None
    return trend.build(list(rows or []), None if before or not pre_rows else pre_rows[-1],
                       session.patient.clinic.limits(), timezone.now(), before_dose=before)
