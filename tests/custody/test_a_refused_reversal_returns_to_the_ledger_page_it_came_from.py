"""A ledger row's "Reverse" form carries the page and kind filter it was shown on (hidden fields, read by
``ReverseForm``), and the answer, refused or posted, returns to that page and filter: the user keeps their place, and
after a refusal the page shows the very form that was posted (same address, same hidden fields), so static/js/app.js
gives the typed reason back. A tampered page or kind is dropped, never reflected and never an error."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from ketaclinic.custody import services
from ketaclinic.custody.models import LedgerEntry

pytestmark = pytest.mark.django_db

RECEIVE = LedgerEntry.Kind.RECEIVE
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)"(?: value="([^"]*)")?')


@pytest.fixture
def oldest_receipt(receive, vial_product, reverse_distributor, actor_for):
    """55 vials received (55 receive entries: the oldest is on page 2 when filtered to receipts), then three of
    them returned (return entries, which the filter leaves out). Returns the oldest receive entry."""
    vials = receive(vial_product, packages=55)
    for vial in vials[-3:]:
        services.return_stock(actor_for("compliance"), container=vial, quantity="10", distributor=reverse_distributor,
                              reason="Recalled lot")
    assert LedgerEntry.objects.filter(kind=RECEIVE).count() == 55
    return LedgerEntry.objects.filter(kind=RECEIVE).order_by("seq").first()


def _ledger(query: str = "") -> str:
    return reverse("custody:ledger") + query


def _row_form(html: str, address: str) -> str:
    """The reverse form of the row whose form posts to ``address``; fails when the page does not show it."""
    start = html.index(f'action="{address}"')
    return html[start:html.index("</form>", start)]


def _hidden(form_html: str) -> dict[str, str]:
    return {name: value for name, value in HIDDEN.findall(form_html) if name != "csrfmiddlewaretoken"}


@pytest.mark.parametrize("reason", ["", "too short"], ids=["refused-by-the-form", "refused-by-the-service"])
def test_a_refused_reversal_returns_to_the_page_and_filter_and_shows_the_posted_form(reason, oldest_receipt,
                                                                                      client_for):
    c = client_for("compliance")
    address = reverse("custody:reverse", kwargs={"external_id": oldest_receipt.external_id})
    shown = _hidden(_row_form(c.get(_ledger("?kind=receive&page=2")).content.decode(), address))
    assert shown == {"kind": "receive", "page": "2"}

    r = c.post(address, {**shown, "reason": reason})

    assert r.status_code == 302
    assert r["Location"] == _ledger("?kind=receive&page=2")
    page = c.get(r["Location"]).content.decode()
    assert f'data-refused="{address}"' in page, "the refusal names the address posted to"
    assert _hidden(_row_form(page, address)) == shown, "the same form is on the page, so the reason comes back"
    assert '<option value="receive" selected>' in page
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()


def test_a_posted_reversal_returns_to_the_page_and_filter(oldest_receipt, client_for):
    c = client_for("compliance")
    address = reverse("custody:reverse", kwargs={"external_id": oldest_receipt.external_id})

    r = c.post(address, {"kind": "receive", "page": "2", "reason": "Entered against the wrong invoice."},
               follow=True)

    assert r.redirect_chain == [(_ledger("?kind=receive&page=2"), 302)]
    page = r.content.decode()
    assert f"Entry #{oldest_receipt.seq} reversed by entry #" in page
    assert '<option value="receive" selected>' in page
    _row_form(page, address)  # the reversed entry's row is on the page it returned to
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL, reverses=oldest_receipt).exists()


@pytest.mark.parametrize(("posted", "kept"), [
    ({"kind": "<script>", "page": "2"}, "?page=2"),
    ({"kind": '"><script>alert(1)</script>', "page": "2"}, "?page=2"),
    ({"kind": "RECEIVE", "page": "2"}, "?page=2"),
    ({"kind": "receive\x00", "page": "2"}, "?page=2"),
    ({"kind": ["receive", "draw&page=9"], "page": "2"}, "?page=2"),
    ({"kind": "receive", "page": "-1"}, "?kind=receive"),
    ({"kind": "receive", "page": "abc"}, "?kind=receive"),
    ({"kind": "receive", "page": "0"}, "?kind=receive"),
    ({"kind": "receive", "page": "2.0"}, "?kind=receive"),
    ({"kind": "receive", "page": "1e3"}, "?kind=receive"),
    ({"kind": "receive", "page": "\uff12"}, "?kind=receive"),  # a full-width digit two
    ({"kind": "receive", "page": "100001"}, "?kind=receive"),
    ({"kind": "receive", "page": "9" * 40}, "?kind=receive"),
    ({"kind": "receive", "page": "2&kind=draw"}, "?kind=receive"),
])
def test_a_tampered_page_or_kind_is_dropped_not_reflected(posted, kept, oldest_receipt, client_for):
    c = client_for("compliance")
    address = reverse("custody:reverse", kwargs={"external_id": oldest_receipt.external_id})

    r = c.post(address, {**posted, "reason": "Entered against the wrong invoice."})

    assert r.status_code == 302
    assert r["Location"] == _ledger(kept)
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).count() == 1, "never an error"
    page = c.get(r["Location"]).content.decode()
    assert "alert(1)" not in page and "&lt;script" not in page and "%3Cscript" not in page
