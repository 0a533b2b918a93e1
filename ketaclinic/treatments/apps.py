from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "ketaclinic.treatments"
    label = "treatments"
    verbose_name = "Treatment orders and sessions"
