"""A therapist's note is stored encrypted: the database (and any copy of it) holds a Fernet token under a key kept
outside it; the application reads the note as written; keys rotate without losing a note."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from ketaclinic.audit.seals import verify_records
from ketaclinic.encryption import PREFIX, UndecryptableText
from ketaclinic.integration import services
from ketaclinic.integration.models import TherapistNote
from tests.factories import actor

TEXT = "Processed the imagery of the lake; talked about her brother. Nguyễn Thị Ánh's own words: «calmer»."


def stored(note: TherapistNote) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT text FROM integration_therapistnote WHERE id = %s", [note.pk])
        return cur.fetchone()[0]


@pytest.fixture
def note(offer, staff):
    return services.write_note(actor=actor(staff["therapist"]), offer=offer, text=TEXT)


def test_the_database_holds_a_token_and_the_therapist_reads_the_note(note, offer, staff):
    raw = stored(note)
    assert raw.startswith(PREFIX) and "lake" not in raw and "Nguy" not in raw
    notes = services.read_notes(actor=actor(staff["prescriber"]), offer=offer)
    assert [n.text for n in notes] == [TEXT]


def test_text_that_looks_like_a_token_is_still_encrypted(offer, staff):
    written = services.write_note(actor=actor(staff["therapist"]), offer=offer, text="enc1:not a token")
    assert stored(written) != "enc1:not a token"
    assert TherapistNote.objects.get(pk=written.pk).text == "enc1:not a token"


def test_a_new_key_put_first_and_rotation_keep_every_note_readable(note, settings, capsys):
    old = settings.NOTE_KEYS[0]
    new = Fernet.generate_key().decode("ascii")
    settings.NOTE_KEYS = [new, old]
    assert TherapistNote.objects.get(pk=note.pk).text == TEXT  # still read under the old key
    before = stored(note)
    call_command("rotate_note_keys")
    assert "integration.TherapistNote.text: 1 re-encrypted" in capsys.readouterr().out
    assert stored(note) != before
    settings.NOTE_KEYS = [new]  # the old key removed
    assert TherapistNote.objects.get(pk=note.pk).text == TEXT
    assert verify_records()[1] == []  # the signed content did not change
    call_command("rotate_note_keys")
    assert "1 re-encrypted" not in capsys.readouterr().out  # nothing left under an old key


def test_a_note_whose_key_is_gone_is_refused_loudly_not_shown_blank(note, settings):
    settings.NOTE_KEYS = [Fernet.generate_key().decode("ascii")]
    with pytest.raises(UndecryptableText, match="key it was written under is missing"):
        TherapistNote.objects.get(pk=note.pk)
