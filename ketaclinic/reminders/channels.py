"""How a message leaves the clinic: e-mail through Django's mail backend (console in the demo, SMTP by settings) and
SMS through a small backend chosen by ``KETACLINIC_SMS_BACKEND`` (a dotted path to a class with ``send``).

A backend raises :class:`SendError` only when it knows nothing was sent (the provider refused it, or could not be
reached); the sender records it and retries up to the clinic's cap. Any other exception (a timeout after the
provider took the message, a connection dropped mid-answer) leaves the outcome unknown: the message is marked so and
never sent again, so no patient gets a reminder twice. No real SMS provider adapter ships yet: a clinic writes one against this interface
(``send(to, body) -> provider message id``), e.g. for Twilio's REST API, and names it in the setting.
"""

from __future__ import annotations

import logging
import smtplib
import sys
import uuid
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

log = logging.getLogger("ketaclinic.reminders.sms")


class SendError(Exception):
    """The provider refused or could not be reached; the message may be tried again."""


class SmsBackend:
    """The interface: send ``body`` to ``to`` (E.164, e.g. +13035550123); return the provider's message id."""

    def send(self, to: str, body: str) -> str:  # pragma: no cover - the interface
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """For the demo and development: writes each text to standard output and the log; nothing leaves the machine."""

    def send(self, to: str, body: str) -> str:
        ident = f"console-{uuid.uuid4().hex[:12]}"
        sys.stdout.write(f"--- SMS to {to} ({ident}) ---\n{body}\n---\n")
        sys.stdout.flush()
        log.info("SMS to %s (%s): %s", to, ident, body)
        return ident


class LocmemSmsBackend(SmsBackend):
    """For tests: keeps each text in ``outbox`` (a class attribute, like Django's locmem mail backend).
    ``fail_next`` makes the next N sends raise :class:`SendError`; ``lose_answer_next`` makes the next N deliver the
    text and then time out, as a provider whose answer never arrives."""

    outbox: list[dict[str, str]] = []
    fail_next: int = 0
    lose_answer_next: int = 0

    def send(self, to: str, body: str) -> str:
        if LocmemSmsBackend.fail_next > 0:
            LocmemSmsBackend.fail_next -= 1
            raise SendError("The test provider refused the message.")
        ident = f"locmem-{len(LocmemSmsBackend.outbox) + 1}"
        LocmemSmsBackend.outbox.append({"to": to, "body": body, "id": ident})
        if LocmemSmsBackend.lose_answer_next > 0:
            LocmemSmsBackend.lose_answer_next -= 1
            raise TimeoutError("The provider's answer did not arrive.")
        return ident


def sms_backend() -> SmsBackend:
    path = getattr(settings, "KETACLINIC_SMS_BACKEND", "ketaclinic.reminders.channels.ConsoleSmsBackend")
    return import_string(path)()


def send_sms(to: str, body: str) -> str:
    return sms_backend().send(to, body)


def send_email(to: str, subject: str, body: str) -> str:
    """Send one e-mail through Django's configured mail backend; returns its Message-ID."""
    msgid = make_msgid(domain="ketaclinic.invalid")
    message = EmailMessage(subject, body, None, [to], headers={"Message-ID": msgid})
    try:
        accepted = message.send()
    except (ConnectionRefusedError, smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError,
            smtplib.SMTPSenderRefused, smtplib.SMTPRecipientsRefused) as e:  # refused before the message was handed
        raise SendError(f"The mail server refused the message: {type(e).__name__}") from e
    if accepted != 1:
        raise SendError("The mail backend did not accept the message.")
    return msgid
