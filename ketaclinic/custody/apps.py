from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "ketaclinic.custody"
    label = "custody"
    verbose_name = "Controlled-substance custody"
