"""Settings for bench/load.py's gunicorn: the app's own, with the benchmark's framework floor (a trivial signed-in
view behind the same middleware) added to its URLs. Never used by the product."""

from ketaclinic.settings import *  # noqa: F403

ROOT_URLCONF = "bench_floor_urls"
