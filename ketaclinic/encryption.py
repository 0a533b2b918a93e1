"""Sensitive free text encrypted at rest: a model field whose value is stored as a Fernet token (AES-128-CBC with
an HMAC-SHA256, from the ``cryptography`` library), under keys kept outside the database (``settings.NOTE_KEYS``).

The first key encrypts; every key listed decrypts, so a key is rotated by putting a new one first, restarting,
running ``manage.py rotate_note_keys`` (which re-encrypts every stored value under the new key) and then removing
the old key. A database copy, dump or backup alone shows none of the text.

The stored form is ``enc1:`` and the token. A value the database holds without that prefix is legacy plain text
(read as is, and encrypted when next written or by the migration that introduced the field). Ciphertext is
randomised, so such a field cannot be searched or compared in the database; only ``isnull`` makes sense.
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
        return None if value is None else encrypt(str(value))  # always: even text that happens to begin "enc1:"


def encrypted_fields() -> list[tuple[type[models.Model], models.Field]]:
    from django.apps import apps

    return [(model, field) for model in apps.get_models() for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField)]
