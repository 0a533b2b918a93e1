"""The free text of a treatment's record is stored encrypted like a therapist's note: the session summary, an
addendum to a signed note, an observation, the order's and the consult's notes. Rotating the key rewrites even the
append-only addenda, and puts their guard back."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from ketaclinic.audit.seals import verify_records
from ketaclinic.encryption import PREFIX
from ketaclinic.treatments import services
from tests.factories import actor, dosed_session


def stored(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cur.fetchone()[0]


@pytest.fixture
def signed_with_addendum(patient, staff, rooms):
    s = dosed_session(patient, staff, rooms=rooms, end="signed")
    addendum = services.add_addendum(actor=actor(staff["nurse"]), session=s,
                                     text="Late entry: escort confirmed home arrival by phone.")
    return s, addendum


def test_the_session_summary_and_an_addendum_are_stored_encrypted(signed_with_addendum):
    s, addendum = signed_with_addendum
    for raw in (stored("treatments_treatmentsession", "note_summary", s.pk),
                stored("treatments_addendum", "text", addendum.pk)):
        assert raw.startswith(PREFIX) and "escort" not in raw and "session" not in raw.lower()[5:]
    s.refresh_from_db()
    assert s.note_summary == "Uneventful session."
    assert s.addenda.get().text.startswith("Late entry")


def test_rotation_rewrites_append_only_addenda_and_leaves_them_guarded(signed_with_addendum, settings):
    s, addendum = signed_with_addendum
    before = stored("treatments_addendum", "text", addendum.pk)
    settings.NOTE_KEYS = [Fernet.generate_key().decode("ascii"), *settings.NOTE_KEYS]
    call_command("rotate_note_keys")
    assert stored("treatments_addendum", "text", addendum.pk) != before
    settings.NOTE_KEYS = settings.NOTE_KEYS[:1]  # the old key gone: everything still reads
    assert s.addenda.get().text.startswith("Late entry")
    assert verify_records()[1] == []
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE treatments_addendum SET text = 'forged'")  # the append-only guard is back
