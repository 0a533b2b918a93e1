"""No page shows a link its viewer would be refused.

The main pages of the clinic (Today, a patient chart, the session cockpit, the custody pages, the measures worklist,
the integration list, the schedule, and the portal pages of a signed-in patient) are rendered from the shared test
clinic (clinic_world.py) as every identity the access table (access_table.py) lets in. Every internal link, form
action and htmx request on the page (``href``, ``action``, ``hx-get``, ``hx-post``, ...) is resolved to its URL name,
and the viewer must be let through it by ``ketaclinic.access.can_open``: a button to a page that answers 403 is a
dead end at the chair, and a sign that the page decided who sees it by some other list than the policy.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from ketaclinic.access import can_open, named_routes
from tests.foundation.access_table import ALLOWED
from tests.foundation.clinic_world import IDENTITIES, url_of

pytestmark = pytest.mark.django_db

#: The pages checked: (what a user calls it, URL name[, which object of the world]). Staff pages are viewed by
#: every role the table lets in; the portal pages by the signed-in portal patient they are written for. The cockpit
#: is checked at each phase the world holds a session in, as its buttons change with the phase.
PAGES = [
    ("Today", "clinic:today"),
    ("patient chart", "patients:chart"),
    ("session cockpit, IV dose verified", "treatments:cockpit"),
    ("session cockpit, esketamine dose prepared", "treatments:cockpit", "prepared_session"),
    ("session cockpit, IV dosing", "treatments:cockpit", "dosing_session"),
    ("session cockpit, IV observation", "treatments:cockpit", "observing_session"),
    ("custody home", "custody:home"),
    ("custody container", "custody:container"),
    ("custody count discrepancy", "custody:incident"),
    ("clinical limits", "clinic:limits"),
    ("rooms", "clinic:rooms"),
    ("custody session", "custody:session"),
    ("measures worklist", "measures:worklist"),
    ("integration list", "integration:list"),
    ("schedule", "treatments:schedule"),
    ("portal home", "portal:home"),
    ("portal questionnaires", "portal:questionnaires"),
    ("portal progress", "portal:progress"),
    ("portal visits", "portal:visits"),
    ("portal crisis help", "portal:crisis"),
]

#: Attributes that send the browser (or htmx) to a URL of the app.
LINK_ATTRIBUTES = ("href", "action", "formaction", "hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag, attrs):
        for attribute, value in attrs:
            if attribute in LINK_ATTRIBUTES and value is not None:
                self.found.append((tag, attribute, value.strip()))


def internal_paths(html: str) -> list[tuple[str, str]]:
    """The app paths a page links to, as (how it links, path); static files, fragments, ``javascript:``,
    ``mailto:``/``tel:`` and other sites are left out."""
    from django.conf import settings

    parser = _Links()
    parser.feed(html)
    skip_prefixes = tuple(p for p in ("/" + settings.STATIC_URL.lstrip("/"),
                                      "/" + (settings.MEDIA_URL or "").lstrip("/")) if p != "/")
    paths = []
    for tag, attribute, value in parser.found:
        if not value or value.startswith("#") or value.lower().startswith(("javascript:", "mailto:", "tel:", "data:")):
            continue
        parts = urlsplit(value)
        if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != "testserver"):
            continue
        if tag == "link" and attribute == "href":  # stylesheets, icons, manifest: not pages
            continue
        path = parts.path
        if not path or path.startswith(skip_prefixes):
            continue  # an empty path is the page itself (``action=""``)
        paths.append((f"<{tag} {attribute}>", path))
    return paths


def test_the_link_reader_finds_links_forms_and_htmx_requests():
    html = """<a href="/patients/">x</a> <a href="#top">top</a> <a href="javascript:void(0)">j</a>
    <a href="https://example.org/a">ext</a> <link rel="stylesheet" href="/static/app.css"><img src="/static/x.png">
    <form method="post" action="/audit/"><button formaction="/custody/">go</button></form>
    <div hx-get="/measures/?page=2" hx-post="/integration/"></div> <a href="mailto:a@b.c">m</a> <form action=""></form>"""
    assert internal_paths(html) == [("<a href>", "/patients/"), ("<form action>", "/audit/"),
                                    ("<button formaction>", "/custody/"), ("<div hx-get>", "/measures/"),
                                    ("<div hx-post>", "/integration/")]


ROUTES = dict(named_routes())


@pytest.mark.parametrize(("title", "name", "key"), [(*page, None)[:3] for page in PAGES],
                         ids=[":".join(page[1:]) for page in PAGES])
def test_no_page_shows_a_link_its_viewer_is_refused(title, name, key, clinic_world):
    from django.urls import Resolver404, resolve

    if name.startswith("portal:"):
        viewers = ["patient"]
    else:
        viewers = [who for who in IDENTITIES if who in ALLOWED[name] and who != "signed_out"]
    assert viewers, f"nobody signed in may open {name}"
    url = url_of(name, ROUTES[name], clinic_world, key)
    wrong = []
    links_seen = 0
    for who in viewers:
        response = clinic_world.client(who).get(url)
        assert response.status_code == 200, f"{title} ({url}) answers {response.status_code} to {who}"
        user = clinic_world.users[who]
        for how, path in internal_paths(response.content.decode()):
            links_seen += 1
            try:
                target = resolve(path).view_name
            except Resolver404:
                wrong.append(f"{who}: {how} {path} leads to no page of the app")
                continue
            if not can_open(user, target):
                wrong.append(f"{who}: {how} {path} ({target}) is refused to {who}")
    assert links_seen, f"{title} ({url}) shows no link at all: is the page rendered?"
    assert wrong == [], f"{title} ({name}, {url}) shows links its viewer would be refused:\n" + "\n".join(
        sorted(set(wrong)))
