"""The FHIR facade's resource routes (names in the ``fhir:`` namespace). Resource type segments start with a capital
letter, so the clients' and bulk-data routes (access_urls, matched first) never collide with them."""

from django.urls import path, re_path

from ketaclinic.fhir import views

TYPE = r"(?P<resource_type>[A-Z][A-Za-z]{1,63})"
ID = r"(?P<resource_id>[A-Za-z0-9\-.]{1,64})"

urlpatterns: list = [
    path("metadata", views.metadata, name="metadata"),
    re_path(rf"^Patient/{ID}/\$everything$", views.everything, name="everything"),
    re_path(rf"^{TYPE}/{ID}/_history(?:/(?P<version>[A-Za-z0-9\-.]{{1,64}}))?$", views.no_history, name="history"),
    re_path(rf"^{TYPE}/{ID}$", views.read, name="read"),
    re_path(rf"^{TYPE}$", views.search_type, name="search"),
]
