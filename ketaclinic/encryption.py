"""Sensitive free text encrypted at rest: a model field whose value is stored as a Fernet token (AES-128-CBC with
an HMAC-SHA256, from the ``cryptography`` library), under keys kept outside the database (``settings.NOTE_KEYS``).

The first key encrypts; every key listed decrypts, so a key is rotated by putting a new one first, restarting,
running ``manage.py rotate_note_keys`` (which re-encrypts every stored value under the new key) and then removing
the old key. A database copy, dump or backup alone shows none of the text.

The stored form is ``enc1:`` and the token. A value the database holds without that prefix is legacy plain text
(read as is, and encrypted when next written or by the migration that introduced the field). Ciphertext is
randomised, so such a field cannot be searched or compared in the database; only ``isnull`` and ``=""`` (an empty
value is stored as it is) make sense.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

PREFIX = "enc1:"


class UndecryptableText(Exception):
    """A stored value that none of the configured keys decrypts: a key is missing from NOTE_KEYS."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode("ascii")) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.NOTE_KEYS))


def encrypt(text: str) -> str:
    return PREFIX + fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # legacy plain text, written before the field was encrypted
    try:
        return fernet().decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise UndecryptableText("A stored note cannot be decrypted with the keys in NOTE_KEYS: the key it was "
                                "written under is missing.") from None


def under_current_key(stored: str) -> bool:
    """Whether ``stored`` is already encrypted under the first (current) key."""
    if not stored.startswith(PREFIX):
        return False
    current = Fernet(settings.NOTE_KEYS[0].encode("ascii"))
    try:
        current.decrypt(stored[len(PREFIX):].encode("ascii"))
    except InvalidToken:
        return False
    return True


class EncryptedTextField(models.TextField):
    """A TextField stored encrypted (see the module). Python code reads and writes plain text."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value  # that a note is empty is no secret, and `field=""` lookups keep working
        return encrypt(str(value))  # always: even text that happens to begin "enc1:"


def encrypted_fields() -> list[tuple[type[models.Model], models.Field]]:
    from django.apps import apps

    return [(model, field) for model in apps.get_models() for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField)]


def rewrite(model: type[models.Model], field: models.Field, pks) -> int:
    """Write the rows ``pks`` of ``field`` again: read as plain text, stored encrypted under the current key. An
    append-only table's triggers are lifted for the rewrite and put back in the same transaction (on PostgreSQL
    this needs the tables' owner: run migrations and ``rotate_note_keys`` as the owner role)."""
    from django.db import connection, transaction

    from ketaclinic.audit.append_only import APPEND_ONLY_TABLES, lifted

    table = model._meta.db_table
    done = 0
    with transaction.atomic(), lifted(connection, *([table] if table in APPEND_ONLY_TABLES else [])):
        for pk, text in model._default_manager.filter(pk__in=list(pks)).values_list("pk", field.attname):
            model._default_manager.filter(pk=pk).update(**{field.attname: text})
            done += 1
    return done


def stale_rows(model: type[models.Model], field: models.Field) -> list:
    """The rows of ``field`` not yet encrypted under the current key (plain text, or an older key)."""
    from django.db import connection

    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(f"SELECT {q(model._meta.pk.column)}, {q(field.column)} FROM {q(model._meta.db_table)}")
        return [pk for pk, stored in cur.fetchall() if stored and not under_current_key(stored)]


def encrypt_stored(app_label: str, model_name: str, field_name: str):
    """A migration's operation that encrypts what ``field_name`` already holds (after the AlterField that made it an
    :class:`EncryptedTextField`); backwards, it writes the plain text back."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        field = model._meta.get_field(field_name)
        rewrite(model, field, stale_rows(model, field))

    def backwards(apps, schema_editor):
        from ketaclinic.audit.append_only import APPEND_ONLY_TABLES, lifted

        model = apps.get_model(app_label, model_name)
        field = model._meta.get_field(field_name)
        connection = schema_editor.connection
        table, q = model._meta.db_table, connection.ops.quote_name
        with lifted(connection, *([table] if table in APPEND_ONLY_TABLES else [])), connection.cursor() as cur:
            for pk, text in model._default_manager.values_list("pk", field.attname):
                cur.execute(f"UPDATE {q(table)} SET {q(field.column)} = %s WHERE {q(model._meta.pk.column)} = %s",
                            [text, pk])

    return migrations.RunPython(forwards, backwards)
