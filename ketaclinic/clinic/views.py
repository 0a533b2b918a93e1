from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.access import POLICY, can_open, rule_for, url_names
from ketaclinic.accounts.roles import Role
from ketaclinic.acting import SESSION_KEY
from ketaclinic.clinic import services
from ketaclinic.clinic.forms import ClinicForm, LimitsForm, RoomForm, SwitchClinicForm, shown_marker
from ketaclinic.clinic.models import Clinic, Room, current_clinic
from ketaclinic.clinic.today import today_panels
from ketaclinic.formfields import posted
from ketaclinic.submit import submit


def today(request):
    """The landing page: what the signed-in person's roles need today. Later features add panels."""
    clinic = current_clinic()
    panels = today_panels(request, clinic)
    ctx = {"clinic": clinic, "now": timezone.localtime(), "panels": panels}
    if request.htmx:
        return render(request, "clinic/today.html#panels", ctx)
    return render(request, "clinic/today.html", ctx)


def _submit(request, form, use_case, *, saved: str, page: str, again):
    """A POST on one of the clinic admin's pages (``page``, a URL name): back to it, or it with the refused form."""
    return submit(request, form, use_case, refused_by=services.ClinicSettingsError, saved=saved,
                  done=lambda _: redirect(page), again=again)


@require_http_methods(["GET", "POST"])
def clinic_settings(request):
    clinic = current_clinic()
    return _submit(request, ClinicForm(posted(request), instance=Clinic.objects.get(pk=clinic.pk)),
                   lambda actor, data: services.update_clinic(actor=actor, clinic=clinic, data=data),
                   saved="Clinic settings saved.", page="clinic:settings",
                   again=lambda form: render(request, "clinic/settings.html", {"form": form, "clinic": clinic}))


def limits(request):
    """The clinic's clinical limits with their defaults and sources, for everyone who works with them; a clinic admin
    also gets the form that changes them (``limits_save``)."""
    clinic = current_clinic()
    current = clinic.limits()
    return _limits_page(request, clinic, LimitsForm(current=current), current)


@require_POST
def limits_save(request):
    clinic = current_clinic()
    current = clinic.limits()
    form = LimitsForm(posted(request), current=current)
    return _submit(request, form, lambda actor, _: services.update_limits(actor=actor, clinic=clinic,
                                                                          values=form.values()),
                   saved="Clinical limits saved. The change is in the audit log.", page="clinic:limits",
                   again=lambda form: _limits_page(request, clinic, form, current))


def _limits_page(request, clinic, form, current):
    # A partial post binds only the settings it sent; the others show their current value.
    unbound = LimitsForm(current=current)
    groups: dict[str, list] = {}
    for row in services.limits_table(clinic):
        key = row["spec"].key
        row["field"] = form[key] if key in form.fields else unbound[key]
        row["marker"] = shown_marker(key)
        groups.setdefault(row["spec"].group, []).append(row)
    return render(request, "clinic/limits.html", {"groups": groups, "form": form,
                                                  "can_edit": can_open(request.user, "clinic:limits_save")})


def rooms(request):
    """The clinic's rooms and chairs; a clinic admin also gets the form that adds one (``room_add``)."""
    return _rooms_page(request, current_clinic(), RoomForm())


@require_POST
def room_add(request):
    clinic = current_clinic()
    return _submit(request, RoomForm(posted(request)),
                   lambda actor, data: services.add_room(actor=actor, clinic=clinic, **data),
                   saved="Room added.", page="clinic:rooms", again=lambda form: _rooms_page(request, clinic, form))


def _rooms_page(request, clinic, form):
    return render(request, "clinic/rooms.html", {
        "rooms": Room.objects.filter(clinic=clinic).prefetch_related("chairs"), "form": form,
        "can_edit": can_open(request.user, "clinic:room_add")})


@require_http_methods(["POST"])
def switch(request):
    """Work at another clinic of the network (the header's "Work at" form)."""
    def done(clinic):
        request.session[SESSION_KEY] = clinic.pk
        return redirect("clinic:today")

    def again(form):
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("clinic:today")

    return submit(request, SwitchClinicForm(request.user, posted(request)),
                  lambda actor, data: services.switch_clinic(actor=actor, clinic=data["clinic"]),
                  refused_by=services.SwitchError, done=done, again=again,
                  saved=lambda clinic: f"You are working at {clinic.name}.")


def access_policy(request):
    roles = list(Role)
    rows = []
    for name in sorted(POLICY):
        rule = POLICY[name]
        rows.append({"name": name, "rule": rule, "cells": [r in rule.roles for r in roles]})
    unlisted = [n for n in url_names() if rule_for(n) is None]
    return render(request, "clinic/access_policy.html", {"roles": roles, "rows": rows, "unlisted": unlisted})
