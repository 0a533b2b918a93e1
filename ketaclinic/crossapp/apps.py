from django.apps import AppConfig


class CrossappConfig(AppConfig):
    name = "ketaclinic.crossapp"
    label = "crossapp"
    verbose_name = "Across apps (demo loader, audit search)"
