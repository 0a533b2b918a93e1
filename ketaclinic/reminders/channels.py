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


class TwilioSmsBackend(SmsBackend):
    """Texts through Twilio's Messages REST API (``POST /2010-04-01/Accounts/<sid>/Messages.json`` with ``To``,
    ``From`` and ``Body``, HTTP basic auth with the account SID and auth token; the answer's ``sid`` is the message
    id), with the standard library only. Settings: ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` (or its _FILE),
    ``TWILIO_FROM`` (the clinic's number), ``TWILIO_API_BASE``.

    What is known not sent raises :class:`SendError` (retried): the API refused it (a 4xx: a bad number, a blocked
    recipient, wrong credentials) or could not be reached at all. A 5xx or a timeout leaves the outcome unknown
    (the provider may have queued it): a plain exception, so it is never sent twice."""

    timeout_seconds = 15

    def send(self, to: str, body: str) -> str:
        import base64
        import json
        import urllib.error
        import urllib.parse
        import urllib.request

        sid, token, sender = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM
        if not (sid and token and sender):
            raise SendError("Twilio is chosen but TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN or TWILIO_FROM is not set.")
        url = f"{settings.TWILIO_API_BASE.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(sid)}/Messages.json"
        data = urllib.parse.urlencode({"To": to, "From": sender, "Body": body}).encode()
        auth = base64.b64encode(f"{sid}:{token}".encode()).decode()
        request = urllib.request.Request(url, data=data, method="POST", headers={
            "Authorization": f"Basic {auth}", "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as answer:
                message_id = json.loads(answer.read().decode() or "{}").get("sid", "")
        except urllib.error.HTTPError as e:
            if 400 <= e.code < 500:
                raise SendError(f"Twilio refused the text (HTTP {e.code}).") from e
            raise  # 5xx: it may have been queued
        except urllib.error.URLError as e:
            if isinstance(e.reason, (ConnectionRefusedError, OSError)) and not isinstance(e.reason, TimeoutError):
                raise SendError(f"Twilio could not be reached: {e.reason}") from e
            raise
        if not message_id:
            raise RuntimeError("Twilio answered without a message id: the outcome is unknown.")
        return str(message_id)


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
