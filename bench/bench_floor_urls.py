"""The benchmarks' framework floor: the project's URLs plus one trivial signed-in view, served behind the same
middleware (sessions, authentication, CSP, idle sign-out, audit context). Used only by bench scripts through
``override_settings(ROOT_URLCONF="bench_floor_urls")``; never part of the product's URLs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from ketaclinic import access
from ketaclinic.urls import urlpatterns as project_urlpatterns

# The floor passes the access policy as any staff page does (the policy refuses a URL it does not list).
access.POLICY["bench_floor"] = access.ANY_STAFF


@login_required
def floor(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench-floor/", floor, name="bench_floor"), *project_urlpatterns]
