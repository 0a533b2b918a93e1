"""Browse the seeded demo clinic as every demo role, following every link from Today.

Fails (exit 1) on any server error, any link that leads a role to a page it is refused, or any page slower
than 2 s. Run by .ci/run against a freshly seeded demo database:

    DB_NAME=... .venv/bin/python scripts/crawl_demo.py
"""

from __future__ import annotations

import collections
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketaclinic.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from ketaclinic.crossapp.management.commands.seed_demo import DEMO_PASSWORD, DEMO_STAFF  # noqa: E402

MAX_PAGES = int(os.environ.get("CRAWL_MAX_PAGES", "200"))
SLOW_SECONDS = 2.0
SKIP = ("/static/", "/accounts/logout", "/admin/")
HREF = re.compile(r'href="(/[^"#]*)"')
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def main() -> int:
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    problems: list[str] = []
    warmed = False
    for username, *_ in DEMO_STAFF:
        client = Client()
        if not client.login(username=username, password=DEMO_PASSWORD):
            problems.append(f"{username}: cannot sign in")
            continue
        if not warmed:  # the process's first page loads templates, URL patterns and fonts: not what is measured
            client.get("/")
            warmed = True
        seen: set[str] = set()
        queue: collections.deque[tuple[str, str]] = collections.deque([("/", "(start)")])
        slowest = 0.0
        while queue and len(seen) < MAX_PAGES:
            url, source = queue.popleft()
            if url in seen or url.startswith(SKIP):
                continue
            seen.add(url)
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
            slowest = max(slowest, elapsed)
            where = f"{username}: {ID.sub('<id>', url)} (linked from {ID.sub('<id>', source)})"
            if response.status_code >= 500:
                problems.append(f"{where} -> {response.status_code}")
            elif response.status_code == 403:
                problems.append(f"{where} -> 403: a page shows a link this role may not open")
            if elapsed > SLOW_SECONDS:
                problems.append(f"{where} took {elapsed:.2f} s")
            if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                for link in HREF.findall(response.content.decode()):
                    link = link.replace("&amp;", "&")
                    if link not in seen:
                        queue.append((link, url))
        print(f"{username:<11} {len(seen):>4} pages, slowest {slowest * 1000:.0f} ms")
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
