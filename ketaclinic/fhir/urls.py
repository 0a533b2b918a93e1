"""The FHIR facade's routes: the resources (resource_urls) and the backend clients' access and bulk data
(access_urls)."""

from ketaclinic.fhir import access_urls, resource_urls

app_name = "fhir"
urlpatterns = [*access_urls.urlpatterns, *resource_urls.urlpatterns]
