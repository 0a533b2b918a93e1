"""``{% load refusals %}``: ``{{ message|refused_address }}``, the address a refused POST was sent to
(ketaclinic.formfields.say_refused), which the page's messages carry as ``data-refused`` for static/js/app.js."""

from __future__ import annotations

from django import template

from ketaclinic import formfields

register = template.Library()
register.filter("refused_address", formfields.refused_address)
