"""Start gunicorn with "now" at a given moment, ticking from there (time-machine), so an app server started by a
test lives at the test's clock, not the wall clock:

    python tests/gunicorn_at.py 2026-06-17T10:00:00-06:00 -c gunicorn.conf.py ketaclinic.wsgi

The workers gunicorn forks keep the travel (it patches the process's clock functions before the fork)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

# Run as a script, its own folder (tests/, whose packages shadow the app's: tests/fhir) would come first on the path.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import time_machine  # noqa: E402

if __name__ == "__main__":
    time_machine.travel(datetime.fromisoformat(sys.argv[1]), tick=True).start()
    from gunicorn.app.wsgiapp import run

    sys.argv = ["gunicorn", *sys.argv[2:]]
    sys.exit(run())
