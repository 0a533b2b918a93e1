from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "ketaclinic.treatments"
    label = "treatments"
    verbose_name = "Treatment orders and sessions"

    def ready(self):
        # The apps below treatments never import it: they send signals and ask through providers it fills in.
        from ketaclinic.treatments import providers, receivers

        receivers.connect()
        providers.register()
