"""Run a ``manage.py`` command with "now" at a given moment, ticking from there (time-machine), so a worker started
by a test lives at the test's clock, not the wall clock:

    python tests/manage_at.py 2026-06-17T10:00:00-06:00 db_worker --no-reload"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

# Run as a script, its own folder (tests/, whose packages shadow the app's: tests/fhir) would come first on the path.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import time_machine  # noqa: E402

if __name__ == "__main__":
    time_machine.travel(datetime.fromisoformat(sys.argv[1]), tick=True).start()
    import os

    from django.core.management import execute_from_command_line

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketaclinic.settings")
    execute_from_command_line(["manage.py", *sys.argv[2:]])
