"""A screen left alone signs out after the idle limit, however often it refreshes itself: every element that polls
(htmx ``hx-trigger`` with ``every``) sends ``X-Background-Poll``, which the idle sign-out does not count as activity
(ketaclinic/accounts/middleware.py). The cockpit's predicted-level panel, refreshed every minute while a session
is active, kept a cockpit left open on a dosing session signed in for good, as did a report job's progress bar."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from ketaclinic.accounts.middleware import BACKGROUND_HEADER

TEMPLATES = Path(settings.BASE_DIR) / "templates"
#: An element's opening tag: the template tags inside it ({% if %}, {% url %}) hold no ">".
TAG = re.compile(r"<[a-z][^<>]*>", re.S)
#: hx-trigger (or data-hx-trigger), in either quotes, with "every": a poll ("delay:" is the debounce of typing,
#: which is activity)
POLLS = re.compile(r"""(?:data-)?hx-trigger\s*=\s*(["'])(?:(?!\1).)*?\bevery\b""", re.S)


def _polling_tags() -> list[tuple[str, str]]:
    return [(str(path.relative_to(TEMPLATES)), tag) for path in sorted(TEMPLATES.rglob("*.html"))
            for tag in TAG.findall(path.read_text()) if POLLS.search(tag)]


def test_every_element_that_polls_says_its_requests_are_background():
    polling = _polling_tags()
    # the three screens that refresh themselves today: the Today board, the cockpit's predicted level, a job's bar
    assert {name for name, _ in polling} >= {"clinic/today.html", "treatments/_pk_panel.html",
                                             "reports/_job_progress.html"}
    unmarked = [name for name, tag in polling if BACKGROUND_HEADER not in tag]
    assert not unmarked, f"these poll without {BACKGROUND_HEADER}, so they keep an unattended screen signed in"
