"""The backend clients' routes: SMART configuration and token endpoint (public), the clinic admin's client pages,
bulk data export and the transaction-Bundle import (registered clients with a bearer token)."""

from django.urls import path

from ketaclinic.fhir import bulk, clients_views, importer, token_views

urlpatterns: list = [
    path("", importer.post_bundle, name="transaction"),
    path(".well-known/smart-configuration", token_views.smart_configuration, name="smart_configuration"),
    path("auth/token", token_views.token, name="token"),
    path("clients/", clients_views.clients, name="clients"),
    path("clients/<uuid:client>/", clients_views.client, name="client"),
    path("clients/<uuid:client>/revoke", clients_views.client_revoke, name="client_revoke"),
    path("$export", bulk.export_system, name="export"),
    path("Patient/$export", bulk.export_patients, name="patient_export"),
    path("Group/<str:group_id>/$export", bulk.export_group, name="group_export"),
    path("$export-status/<uuid:job>", bulk.export_status, name="export_status"),
    path("$export-file/<uuid:job>/<str:name>", bulk.export_file, name="export_file"),
]
