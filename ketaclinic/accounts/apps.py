from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ketaclinic.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"

    def ready(self):
        # The lowest of the project's apps: the lock timeout every ``migrate`` runs with (ketaclinic.migrationops).
        # (set before the migrations run; the project's migrate command, accounts/management/commands, resets it)
        from django.db.models.signals import pre_migrate

        from ketaclinic import migrationops

        pre_migrate.connect(migrationops.set_lock_timeout, dispatch_uid="ketaclinic.migration_lock_timeout")
