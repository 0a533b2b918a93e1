from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ketaclinic.access import POLICY, rule_for, url_names
from ketaclinic.accounts.roles import Role
from ketaclinic.audit.services import Actor
from ketaclinic.clinic import services
from ketaclinic.clinic.forms import ClinicForm, LimitsForm, RoomForm, shown_marker
from ketaclinic.clinic.models import Clinic, Room, current_clinic
from ketaclinic.clinic.today import today_panels
from ketaclinic.formfields import posted, show_refusal


def today(request):
    """The landing page: what the signed-in person's roles need today. Later features add panels."""
    clinic = current_clinic()
    panels = today_panels(request, clinic)
    ctx = {"clinic": clinic, "now": timezone.localtime(), "panels": panels}
    if request.htmx:
        return render(request, "clinic/today.html#panels", ctx)
    return render(request, "clinic/today.html", ctx)




@require_http_methods(["GET", "POST"])
def clinic_settings(request):
    clinic = current_clinic()
    form = ClinicForm(posted(request), instance=Clinic.objects.get(pk=clinic.pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_clinic(actor=Actor.from_request(request), clinic=clinic, data=form.cleaned_data)
        except services.ClinicSettingsError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "Clinic settings saved.")
            return redirect("clinic:settings")
    return render(request, "clinic/settings.html", {"form": form, "clinic": clinic})


@require_http_methods(["GET", "POST"])
def limits(request):
    clinic = current_clinic()
    can_edit = request.user.has_role(Role.CLINIC_ADMIN)
    if request.method == "POST" and not can_edit:
        return render(request, "errors/403.html", {"reason": "Only a clinic admin can change clinical limits."}, status=403)
    current = clinic.limits()
    form = LimitsForm(posted(request), current=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_limits(actor=Actor.from_request(request), clinic=clinic, values=form.values())
        except services.ClinicSettingsError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "Clinical limits saved. The change is in the audit log.")
            return redirect("clinic:limits")
    # A partial post binds only the settings it sent; the others show their current value.
    unbound = LimitsForm(current=current)
    groups: dict[str, list] = {}
    for row in services.limits_table(clinic):
        key = row["spec"].key
        row["field"] = form[key] if key in form.fields else unbound[key]
        row["marker"] = shown_marker(key)
        groups.setdefault(row["spec"].group, []).append(row)
    return render(request, "clinic/limits.html", {"groups": groups, "can_edit": can_edit, "form": form})


@require_http_methods(["GET", "POST"])
def rooms(request):
    clinic = current_clinic()
    can_edit = request.user.has_role(Role.CLINIC_ADMIN)
    if request.method == "POST" and not can_edit:
        return render(request, "errors/403.html", {"reason": "Only a clinic admin can add rooms."}, status=403)
    form = RoomForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.add_room(actor=Actor.from_request(request), clinic=clinic, **form.cleaned_data)
        except services.ClinicSettingsError as e:
            show_refusal(form, e.errors)
        else:
            messages.success(request, "Room added.")
            return redirect("clinic:rooms")
    room_list = Room.objects.filter(clinic=clinic).prefetch_related("chairs")
    return render(request, "clinic/rooms.html", {"rooms": room_list, "form": form, "can_edit": can_edit})


def access_policy(request):
    roles = list(Role)
    rows = []
    for name in sorted(POLICY):
        rule = POLICY[name]
        rows.append({"name": name, "rule": rule, "cells": [r in rule.roles for r in roles]})
    unlisted = [n for n in url_names() if rule_for(n) is None]
    return render(request, "clinic/access_policy.html", {"roles": roles, "rows": rows, "unlisted": unlisted})
