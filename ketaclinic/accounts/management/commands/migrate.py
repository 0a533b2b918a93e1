"""Django's ``migrate``, with the clinic's lock timeout (ketaclinic.migrationops): each statement waits at most
``DB_MIGRATION_LOCK_TIMEOUT`` seconds for its table's lock on PostgreSQL, and the connection waits as configured
again when the command ends, however it ends."""

from __future__ import annotations

from django.core.management.commands.migrate import Command as DjangoMigrate

from ketaclinic import migrationops


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Each statement waits at most DB_MIGRATION_LOCK_TIMEOUT seconds for a lock."

    def handle(self, *args, **options):
        migrationops.set_lock_timeout(options["database"])
        try:
            return super().handle(*args, **options)
        finally:
            migrationops.reset_lock_timeout(options["database"])
