from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "ketaclinic.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from ketaclinic.audit import checks  # noqa: F401  (registers the deployment checks of the keys)
