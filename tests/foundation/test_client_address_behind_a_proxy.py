"""Behind the clinic's reverse proxy, the audit trail and the sign-in throttle see each device's own address (from
X-Forwarded-For, read from the right), never the proxy's one address, and never an address a client made up."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import RequestFactory
from django.urls import reverse

from ketaclinic.accounts.models import SignInCounter
from ketaclinic.audit.services import client_ip

PROXY = "10.0.0.5"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]


def seen(forwarded: str | None, remote: str = PROXY) -> str | None:
    meta = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {})
    return client_ip(RequestFactory().get("/", **meta))


def test_without_a_trusted_proxy_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert seen("203.0.113.9", remote="198.51.100.1") == "198.51.100.1"


def test_the_device_behind_the_proxy_is_seen(behind_proxy):
    assert seen("203.0.113.9") == "203.0.113.9"
    assert seen("203.0.113.9, 10.0.0.7") == "203.0.113.9"  # through a second proxy of the clinic's
    assert seen("2001:db8::1") == "2001:db8::1"


def test_addresses_written_with_a_port_or_mapped_into_ipv6_are_read(behind_proxy):
    assert seen("203.0.113.9:51234") == "203.0.113.9"
    assert seen("[2001:db8::1]:443") == "2001:db8::1"
    assert seen("203.0.113.9", remote="::ffff:10.0.0.5") == "203.0.113.9"  # the proxy, seen over IPv6
    assert seen("::ffff:203.0.113.9") == "203.0.113.9"


def test_an_address_the_client_wrote_into_the_header_is_not_believed(behind_proxy):
    # the client sent "X-Forwarded-For: 192.0.2.66"; the proxy appended the address it saw
    assert seen("192.0.2.66, 203.0.113.9") == "203.0.113.9"


def test_a_header_from_an_untrusted_address_or_garbled_is_ignored(behind_proxy):
    assert seen("203.0.113.9", remote="198.51.100.1") == "198.51.100.1"
    assert seen("not-an-address") == PROXY
    assert seen("") == PROXY


def test_sign_in_failures_count_against_the_device_not_the_proxy(behind_proxy, client, staff):
    client.post(reverse("accounts:login"), {"username": "nobody-here", "password": "wrong"},
                REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")
    counted = set(SignInCounter.objects.filter(kind=SignInCounter.Kind.ADDRESS).values_list("key", flat=True))
    assert counted == {"203.0.113.9"}
