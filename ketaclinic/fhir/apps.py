from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "ketaclinic.fhir"
    label = "fhir"
    verbose_name = "FHIR R4 facade (read, search, bulk export, import) and SMART backend clients"
