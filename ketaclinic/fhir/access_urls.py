"""The backend clients' routes: SMART configuration and token endpoint (public), the clinic admin's client pages,
bulk data export and the transaction-Bundle import (registered clients with a bearer token)."""

from django.urls import path

from ketaclinic.fhir import clients_views, token_views

urlpatterns: list = [
    path(".well-known/smart-configuration", token_views.smart_configuration, name="smart_configuration"),
    path("auth/token", token_views.token, name="token"),
    path("clients/", clients_views.clients, name="clients"),
    path("clients/<uuid:client>/", clients_views.client, name="client"),
    path("clients/<uuid:client>/revoke", clients_views.client_revoke, name="client_revoke"),
]
