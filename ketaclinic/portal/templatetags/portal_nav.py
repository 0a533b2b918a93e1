"""The portal's navigation, gathered from the apps above the portal without importing them: each installed app
may have a ``<app>.portal_nav`` module whose ``PORTAL_NAV`` is a tuple of (URL name, label) pairs for patient
pages it serves (``scheduling``: "My appointments"; ``messaging``: "Messages"). Found by name at run time
(``ketaclinic.apphooks``), in ``INSTALLED_APPS`` order; an entry whose URL name does not resolve is left out."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse

from ketaclinic.apphooks import app_hooks

register = template.Library()


def entries() -> list[tuple[str, str]]:
    """(path, label) of every app's portal pages, in ``INSTALLED_APPS`` order."""
    out = []
    for module in app_hooks("portal_nav", gatherer="ketaclinic.portal"):
        for name, label in getattr(module, "PORTAL_NAV", ()):
            try:
                out.append((reverse(name), label))
            except NoReverseMatch:
                continue
    return out


@register.simple_tag
def portal_nav_entries() -> list[tuple[str, str]]:
    return entries()
