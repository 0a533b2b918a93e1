"""Point Django at a throwaway database for a benchmark, migrate it, and return."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def setup_django() -> None:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    if os.environ.get("DB", "sqlite") == "sqlite" and "DB_NAME" not in os.environ:
        tmp = tempfile.mkdtemp(prefix="ketaclinic-bench-")
        os.environ["DB_NAME"] = str(Path(tmp) / "bench.sqlite3")
        os.environ.setdefault("KETACLINIC_DATA_DIR", tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketaclinic.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
