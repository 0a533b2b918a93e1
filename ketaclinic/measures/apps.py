from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "ketaclinic.measures"
    label = "measures"
    verbose_name = "Measurement-based care"
