"""The Twilio adapter speaks Twilio's Messages API as documented (the account's Messages.json, basic auth with the
account SID and token, To/From/Body), against a stand-in server on loopback: a message id back means sent; a refusal
(4xx) or a server that cannot be reached means nothing went out (retried); a 5xx means it may have been queued, so
the outcome is unknown and the reminder is never sent twice."""

from __future__ import annotations

import base64
import json
import socket
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest
from django.test import override_settings

from ketaclinic.reminders.channels import SendError, TwilioSmsBackend

SID, TOKEN, FROM = "AC0123456789abcdef0123456789abcdef", "test-token", "+13035550100"


class _Provider(BaseHTTPRequestHandler):
    answer = (201, {"sid": "SM0001"})
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 - the http.server name
        length = int(self.headers.get("Content-Length", 0))
        _Provider.seen.append({"path": self.path, "auth": self.headers.get("Authorization"),
                               "form": parse_qs(self.rfile.read(length).decode())})
        status, body = _Provider.answer
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    _Provider.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with override_settings(TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_FROM=FROM,
                           TWILIO_API_BASE=f"http://127.0.0.1:{server.server_port}"):
        yield _Provider
    server.shutdown()
    server.server_close()


def test_a_text_goes_to_the_accounts_messages_with_basic_auth_and_its_id_comes_back(provider):
    provider.answer = (201, {"sid": "SM0001", "status": "queued"})
    assert TwilioSmsBackend().send("+13035550142", "Reminder: your session is tomorrow at 09:00.") == "SM0001"
    [request] = provider.seen
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request["auth"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request["form"] == {"To": ["+13035550142"], "From": [FROM],
                               "Body": ["Reminder: your session is tomorrow at 09:00."]}


def test_a_refused_text_is_a_send_error_and_may_be_tried_again(provider):
    provider.answer = (400, {"code": 21211, "message": "The 'To' number is not a valid phone number."})
    with pytest.raises(SendError, match="HTTP 400"):
        TwilioSmsBackend().send("+1303", "x")


def test_a_server_error_leaves_the_outcome_unknown_not_a_send_error(provider):
    provider.answer = (503, {"message": "Service unavailable"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        TwilioSmsBackend().send("+13035550142", "x")
    assert not isinstance(raised.value, SendError)


def test_an_unreachable_provider_is_a_send_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with override_settings(TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_FROM=FROM,
                           TWILIO_API_BASE=f"http://127.0.0.1:{port}"), pytest.raises(SendError, match="reached"):
        TwilioSmsBackend().send("+13035550142", "x")


def test_missing_settings_are_named():
    with override_settings(TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="", TWILIO_FROM=""), \
            pytest.raises(SendError, match="TWILIO_ACCOUNT_SID"):
        TwilioSmsBackend().send("+13035550142", "x")
