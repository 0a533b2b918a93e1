from django.apps import AppConfig


class CrossappConfig(AppConfig):
    name = "ketaclinic.crossapp"
    label = "crossapp"
    verbose_name = "Across apps (demo loader, audit search)"

    def ready(self):
        from ketaclinic.crossapp import checks  # noqa: F401  (registers the export folders' start-up check)
