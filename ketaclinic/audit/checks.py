"""Deployment checks of the keys that protect the audit trail and the notes (``manage.py check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

TEST_ONLY_CHAIN_KEY = bytes.fromhex("7e57" * 16)
TEST_ONLY_NOTE_KEY = "dGVzdC1vbmx5LW5vdGUta2V5LW5vdC1mb3ItdXNlLTA="


@register(Tags.security, deploy=True)
def keys_are_the_clinics_own(app_configs, **kwargs):
    found = []
    if settings.CHAIN_KEY == TEST_ONLY_CHAIN_KEY or TEST_ONLY_NOTE_KEY in settings.NOTE_KEYS:
        found.append(Error("The test suite's fixed keys are in use: the audit chain or the notes are protected by a "
                           "published key.", hint="Set CHAIN_KEY_FILE and NOTE_KEYS_FILE (docs/operations.md).",
                           id="ketaclinic.E001"))
    for name, configured in settings.KEYS_CONFIGURED.items():
        if not configured:
            found.append(Warning(
                f"{name} is not set: the app made its own key in the data directory. Should that file be lost or "
                "another server start without it, the chains cannot be verified or the notes read.",
                hint=f"Set {name}_FILE to the key kept with the clinic's secrets and backups (docs/operations.md).",
                id="ketaclinic.W001" if name == "CHAIN_KEY" else "ketaclinic.W002"))
    return found
