"""Two app servers against one PostgreSQL (the production shape behind a load balancer, sessions in the database,
no local state): nurses save vitals through both at once, one server is killed with SIGKILL in the middle of the
burst, and the clinic loses nothing and doubles nothing. Every save a nurse saw confirmed is in the chart exactly
once with exactly one audit entry; a save cut off mid-request is there once or not at all (its transaction rolled
back with the dead connection), never twice; the audit chain still verifies; the surviving server answers on."""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from urllib.parse import urlencode

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import reverse

from ketaclinic.audit.models import AuditEntry
from ketaclinic.audit.services import verify_chain
from tests.factories import IV, book_now, make_order, make_rooms, ready_to_start
from tests.processes import app_server, free_port, kill, listening

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

SAVES = 48  # heart rates 50..97 bpm, one per save: each save is known by its heart rate
THREADS = 6


def test_a_server_killed_mid_burst_loses_no_confirmed_save_and_doubles_none(clinic, patient, staff, tmp_path):
    rooms = make_rooms(clinic)
    s = ready_to_start(book_now(make_order(patient, staff, IV), staff, rooms, minutes_ago=30), staff, minutes_ago=30)
    client = Client()
    client.force_login(staff["nurse"])
    csrf = _get_new_csrf_string()
    cookie = f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}"
    url = reverse("treatments:vitals", args=[s.external_id])
    earlier_readings = list(s.vitals.values_list("pk", flat=True))  # the pre-dose readings
    earlier_audit = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    ports = [free_port(), free_port()]
    servers = [app_server(p, tmp_path) for p in ports]
    try:
        for server, port in zip(servers, ports, strict=True):
            listening(server, port)
        outcome: dict[int, str] = {}  # heart rate -> "saved", "refused" or "unknown" (cut off mid-request)
        lock = threading.Lock()
        killed = threading.Event()

        def post(port: int, rate: int) -> str:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            body = urlencode({"systolic_mmHg": "126", "diastolic_mmHg": "80", "heart_rate_bpm": str(rate),
                              "spo2_percent": "98", "shown_through": ""})
            try:
                conn.connect()
            except ConnectionRefusedError:
                return "not delivered"
            try:
                conn.request("POST", url, body=body, headers={
                    "Cookie": cookie, "Host": "127.0.0.1", "X-CSRFToken": csrf, "HX-Request": "true",
                    "HX-Target": "vitals-form", "Content-Type": "application/x-www-form-urlencoded"})
                r = conn.getresponse()
                text = r.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                return "unknown"
            finally:
                conn.close()
            return "saved" if r.status == 200 and b'data-saved="yes"' in text else f"refused {r.status}"

        def nurse(rates: list[int]) -> None:
            for k, rate in enumerate(rates):
                result = post(ports[k % 2], rate)
                if result == "not delivered":  # the load balancer's retry: nothing reached the dead server
                    result = post(ports[1], rate)
                with lock:
                    outcome[rate] = result
                    if not killed.is_set() and sum(v == "saved" for v in outcome.values()) >= SAVES // 4:
                        killed.set()
                        kill(servers[0])  # SIGKILL to the master and its workers, mid-burst

        rates = list(range(50, 50 + SAVES))
        threads = [threading.Thread(target=nurse, args=(rates[t::THREADS],)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert killed.is_set()
        assert not any(v.startswith("refused") for v in outcome.values()), outcome
        saved = {r for r, v in outcome.items() if v == "saved"}
        unknown = {r for r, v in outcome.items() if v == "unknown"}
        assert len(saved) + len(unknown) == SAVES and len(saved) > SAVES // 2

        in_chart = Counter(s.vitals.exclude(pk__in=earlier_readings).values_list("heart_rate_bpm", flat=True))
        assert all(in_chart[r] == 1 for r in saved), f"a confirmed save is missing or doubled: {in_chart} {outcome}"
        assert all(in_chart[r] <= 1 for r in unknown), "a save cut off mid-request was written twice"
        assert set(in_chart) <= set(rates)
        audited = Counter(e.details.get("heart_rate_bpm") for e in AuditEntry.objects.filter(
            action="session.vitals.recorded", subject_id=str(s.external_id), seq__gt=earlier_audit))
        assert Counter(int(r) for r in audited.elements()) == in_chart  # one audit entry per reading, no more
        assert verify_chain() is None
        # the surviving server answers on
        assert post(ports[1], 120) == "saved"
    finally:
        for server in servers:
            kill(server)
