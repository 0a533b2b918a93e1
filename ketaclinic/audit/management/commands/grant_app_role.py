"""Let the application run as a PostgreSQL role that does not own its tables.

The owner role runs ``migrate`` and then this command; the application connects as ``ROLE``. Not owning the tables,
the application's role cannot disable or drop the append-only triggers, truncate a table or alter it, and it is not
granted UPDATE or DELETE on the append-only tables at all (UPDATE stays on the few whose one set-once column is
written later, where the trigger still refuses any other change). Run it again after every ``migrate``: new tables
are granted then.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from ketaclinic.audit.append_only import APPEND_ONLY_TABLES, SET_ONCE


def grant_statements(role: str, tables: set[str]) -> list[str]:
    q = connection.ops.quote_name
    r = q(role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {r}",
        # no objects of its own in the clinic's schema (PostgreSQL before 15 lets every role create there)
        f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {r}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",  # nextval; not setval
    ]
    for table in APPEND_ONLY_TABLES:
        if table not in tables:
            continue
        denied = "DELETE" if table in SET_ONCE else "UPDATE, DELETE"
        statements.append(f"REVOKE {denied} ON {q(table)} FROM {r}")
    return statements


class Command(BaseCommand):
    help = ("PostgreSQL: grant ROLE what the application needs and nothing more (no table ownership, so no "
            "trigger can be disabled and no table truncated; no UPDATE or DELETE on append-only tables). Run as the "
            "tables' owner after every migrate.")

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role the application connects as (DB_USER of the running app)")

    def handle(self, *args, role: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Roles are a PostgreSQL matter: SQLite has no users, its file's permissions decide.")
        with connection.cursor() as cur:
            cur.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
            found = cur.fetchone()
            if found is None:
                raise CommandError(f"There is no role {role!r}: CREATE ROLE {role} LOGIN PASSWORD '...' first.")
            if found[0] or found[1]:
                raise CommandError(f"{role} is a superuser (or bypasses row security): no grant can hold it back. "
                                   "Use a plain role for the application.")
            cur.execute("SELECT current_user")
            owner = cur.fetchone()[0]
            if owner == role:
                raise CommandError("Run this as the tables' owner, not as the application's role.")
            cur.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])
            if cur.fetchone()[0]:
                raise CommandError(f"{role} is a member of {owner}, the tables' owner: it could act as the owner. "
                                   "Revoke that membership first.")
        tables = set(connection.introspection.table_names())
        with transaction.atomic(), connection.cursor() as cur:
            for statement in grant_statements(role, tables):
                cur.execute(statement)
        self.stdout.write(f"Role {role} may read and write the clinic's tables; it owns none of them and may not "
                          f"change or delete the {sum(t in tables for t in APPEND_ONLY_TABLES)} append-only ones.")
