from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "ketaclinic.integration"
    label = "integration"
    verbose_name = "Integration counselling"
