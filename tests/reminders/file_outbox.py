"""An SMS backend for tests whose worker runs in another process: each text is appended as one JSON line to the
file ``KETACLINIC_TEST_OUTBOX`` names (appends of one short line are atomic, so several processes share the file).
Like a real provider it takes a while: ``KETACLINIC_TEST_OUTBOX_SECONDS`` before the text is out, and
``KETACLINIC_TEST_OUTBOX_ANSWER_SECONDS`` (the same by default) before the provider's answer comes back."""

from __future__ import annotations

import json
import os
import time
import uuid

from ketaclinic.reminders.channels import SmsBackend


class FileOutboxSmsBackend(SmsBackend):
    def send(self, to: str, body: str) -> str:
        wait = float(os.environ.get("KETACLINIC_TEST_OUTBOX_SECONDS", "0"))
        time.sleep(wait)
        ident = f"file-{uuid.uuid4().hex[:12]}"
        line = json.dumps({"to": to, "body": body, "id": ident, "pid": os.getpid()}) + "\n"
        fd = os.open(os.environ["KETACLINIC_TEST_OUTBOX"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        time.sleep(float(os.environ.get("KETACLINIC_TEST_OUTBOX_ANSWER_SECONDS", wait)))
        return ident
