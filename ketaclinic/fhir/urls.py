"""The FHIR facade's routes: the resources (resource_urls) and the backend clients' access and bulk data
(access_urls); last, a catch-all so an unrouted path under the FHIR base answers a 404 OperationOutcome."""

from django.urls import path

from ketaclinic.fhir import access_urls, resource_urls, views

app_name = "fhir"
urlpatterns = [*access_urls.urlpatterns, *resource_urls.urlpatterns,
               path("<path:rest>", views.not_found, name="not_found")]
