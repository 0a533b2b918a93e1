"""The forms of secure messaging: a message (text and one optional file), and a new conversation (a subject too).

The file is only received here; its size, type (first bytes) and virus check are the service's
(``attachments.check``), so a refusal shows next to the file field and nothing is saved."""

from __future__ import annotations

from django import forms

from ketaclinic.formfields import TextField, note_field
from ketaclinic.messaging.attachments import ACCEPTED
from ketaclinic.messaging.services import BODY_MAX, SUBJECT_MAX


class MessageForm(forms.Form):
    body = note_field(max_length=BODY_MAX, rows=6, label="Message")
    attachment = forms.FileField(required=False, label=f"Attach a file ({ACCEPTED})",
                                 widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}))


class NewThreadForm(MessageForm):
    subject = TextField(max_length=SUBJECT_MAX, label="Subject")
    field_order = ["subject", "body", "attachment"]
