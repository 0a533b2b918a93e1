from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "ketaclinic.clinic"
    label = "clinic"
    verbose_name = "Clinic"
