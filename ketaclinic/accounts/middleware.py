"""Deny-by-default access control and the idle-session timeout."""

from __future__ import annotations

import time
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string

from ketaclinic.access import can_open, rule_for

_API_PREFIXES = ("/api/", "/fhir/")


def refuse(request: HttpRequest, reason: str) -> HttpResponse:
    if request.path.startswith(_API_PREFIXES):
        return JsonResponse({"detail": reason}, status=403)
    body = render_to_string("errors/403.html", {"reason": reason}, request=request)
    return HttpResponseForbidden(body)


class AccessPolicyMiddleware:
    """Apply ketaclinic.access.POLICY to every view. Anything not listed is refused."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        match = request.resolver_match
        view_name = match.view_name if match else None
        rule = rule_for(view_name)
        if rule is None:
            return refuse(request, "This page is not open to any role.")
        if rule.backend_client:  # the FHIR API: the view checks the bearer token; a session cookie opens nothing
            return None
        user = request.user
        if can_open(user, view_name):  # the one access decision, shared with every link and button
            return None
        if not user.is_authenticated:
            if request.path.startswith(_API_PREFIXES):
                return JsonResponse({"detail": "Sign in first."}, status=401)
            login_url = f"{settings.LOGIN_URL_PATH}?next={quote(request.get_full_path())}"
            if request.headers.get("HX-Request"):
                # An htmx fragment request: send the whole page to sign-in, not the sign-in form into a panel.
                response = HttpResponse(status=200)
                response["HX-Redirect"] = f"{settings.LOGIN_URL_PATH}?next={quote(request.headers.get('HX-Current-URL', '/'))}"
                return response
            return redirect(login_url)
        if rule.patient:
            return refuse(request, "This page is for patients signed in to the portal.")
        if can_open(user, "portal:home"):  # a patient at a staff page (the staff's Today at "/", say)
            return refuse(request, "This page is for the clinic's staff. Your own pages are in the portal.")
        return refuse(request, f"Your role does not allow this page. It is open to: {rule.describe()}.")


BACKGROUND_HEADER = "X-Background-Poll"


class IdleTimeoutMiddleware:
    """Sign a user out after SESSION_IDLE_MINUTES without activity.

    Background refreshes (the Today page polling itself, marked with the ``X-Background-Poll`` header) are
    not activity: an unattended screen still signs out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            last = request.session.get("last_activity")
            limit = settings.SESSION_IDLE_MINUTES * 60
            if last is None:
                request.session["last_activity"] = now
            elif now - int(last) > limit:
                logout(request)
                messages.info(request, f"You were signed out after {settings.SESSION_IDLE_MINUTES} minutes without activity.")
            elif not request.headers.get(BACKGROUND_HEADER) and now - int(last) >= 30:
                # Refresh at most every 30 s to avoid a session write on every request.
                request.session["last_activity"] = now
        return self.get_response(request)
