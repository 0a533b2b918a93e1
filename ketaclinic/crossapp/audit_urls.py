"""The audit search page, under its own namespace ``audit`` (``audit:search``), served from the top layer."""

from django.urls import path

from ketaclinic.crossapp import audit_views

app_name = "audit"
urlpatterns = [path("", audit_views.search, name="search")]
