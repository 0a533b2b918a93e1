from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "ketaclinic.reports"
    label = "reports"
    verbose_name = "Reports (outcomes, safety, operations; research export)"
