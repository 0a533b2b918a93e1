"""Shared fixtures: a clinic, a signed-in client per role, patients."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

# Django-dependent imports happen inside the fixtures, so the pure clinical-core tests can also run
# without Django (``pytest tests/clinical -p no:django``).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

#: The checkout's own local state (git-ignored): the embedded database, collected static files, test caches.
VAR_DIR = Path(__file__).resolve().parent.parent / "var"

# With PYTHONDONTWRITEBYTECODE set (as on some machines) every run compiled the test modules again, pytest's
# assertion rewriting included, and the app's modules they import: about 4 s of each xdist worker's start. The
# compiled files are kept under var/pycache instead, so the source tree stays as free of them as that setting asks.
if sys.dont_write_bytecode:
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(VAR_DIR / "pycache")

#: The test clinic's time zone: "now" in tests is a moment in it.
CLINIC_TZ = "America/Denver"
#: "Now" for every test: a fixed moment, never the wall clock. CI runs the date-sensitive tests again with
#: KETACLINIC_TEST_NOW set to each moment of its date matrix (weekends, federal holidays, DST changes, New
#: Year's Eve); a naive value is read in the clinic's time zone.
DEFAULT_TEST_NOW = "2026-06-17T10:00"  # a Wednesday morning


def test_now() -> datetime:
    raw = os.environ.get("KETACLINIC_TEST_NOW") or DEFAULT_TEST_NOW
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(CLINIC_TZ))


test_now.__test__ = False  # a helper, not a test


#: The tests whose outcome depends on the calendar (custody deadlines, schedules and booking, measures due, REMS
#: due, portal expiries, idle sign-out, the research export and outcome curves, and the shared foundation clinic,
#: which books sessions, receives and expires stock today and renders Today). ``.ci/run`` runs them again
#: (``-m calendar``) at every moment of its date matrix. The pure clinical-core tests of deadlines and schedules
#: use fixed dates only (they never read the clock), so the matrix would only repeat them.
DATE_SENSITIVE = (
    "tests/custody/",
    "tests/treatments/",
    "tests/measures/",
    "tests/integration/",
    "tests/portal/",
    "tests/scheduling/",
    "tests/foundation/test_accounts.py",
    "tests/foundation/test_every_url.py",
    "tests/foundation/test_links_follow_the_policy.py",
    "tests/crossapp/",
    # reports that count days in the clinic: the research export's shifted days and common cutoff, response and
    # booster-prompt curves
    "tests/reports/test_research_export_",
    "tests/reports/test_outcomes_",
    "tests/reports/test_the_chart_shows_the_patients_research_decision.py",  # the decision's day, clinic time
    "tests/fhir/test_search_views.py",  # searches by a reading's day
    "tests/screening/",  # a consult's signing day, in the clinic's words
    "tests/foundation/test_patients.py",  # a date of birth tomorrow
    "tests/foundation/test_password_reset.py",  # a link's 30 minutes, across a change of the clocks too
)


def pytest_collection_modifyitems(config, items):
    root = str(config.rootpath) + os.sep
    for item in items:
        path = str(item.path).removeprefix(root)
        if path.startswith(DATE_SENSITIVE):
            item.add_marker(pytest.mark.calendar)


#: The fixtures that build one world for all the tests of a module (see :func:`rolled_back_world`; ``module_clinic``:
#: tests/fhir/module_clinic.py's).
MODULE_WORLDS = ("rolled_back_world", "clinic_world", "demo_world", "module_clinic")


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """Under ``-n`` (xdist's default ``--dist load``): tests are handed to the workers one by one, as they become
    free, except that the tests of a module building a world (:data:`MODULE_WORLDS`) go to one worker together,
    so its world is built once, and before the single tests (xdist's scopes run largest first), so the run does not
    end waiting on one worker seeding the demo clinic. Another ``--dist`` asked for is left as it is."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    root = Path(str(config.rootpath))
    worlds: dict[str, bool] = {}

    def builds_a_world(path: str) -> bool:
        if path not in worlds:
            try:
                source = (root / path).read_text(encoding="utf-8")
            except OSError:
                source = ""
            worlds[path] = any(name in source for name in MODULE_WORLDS)
        return worlds[path]

    class ModuleWorldsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if builds_a_world(path) else nodeid

    return ModuleWorldsTogether(config, log)


@dataclass
class Clock:
    """The one clock of the test suite (time-machine): ``timezone.now()`` everywhere, the app and the live
    server included, reads it. It starts at :func:`test_now` for every test and then ticks."""

    traveller: time_machine.Coordinates
    tz: ZoneInfo

    def now(self) -> datetime:
        from django.utils import timezone

        return timezone.now()

    def local(self) -> datetime:
        return self.now().astimezone(self.tz)

    def today(self) -> date:
        """Today in the clinic's time zone."""
        return self.local().date()

    def shift(self, delta: timedelta) -> datetime:
        self.traveller.shift(delta)
        return self.now()

    def move_to(self, moment: datetime) -> datetime:
        self.traveller.move_to(moment)
        return self.now()


@pytest.fixture(autouse=True)
def clock(request):
    """Every test runs at :func:`test_now` (see DEFAULT_TEST_NOW and the CI date matrix), in the clinic's
    time zone."""
    if not _with_django(request):
        with time_machine.travel(test_now(), tick=True) as traveller:
            yield Clock(traveller, ZoneInfo(CLINIC_TZ))
        return
    from django.test import override_settings

    # The app reads "today" in the clinic's time zone (its middleware activates it on every request); the
    # test process does the same, so a test's timezone.localdate() is the clinic's date.
    with override_settings(TIME_ZONE=CLINIC_TZ), time_machine.travel(test_now(), tick=True) as traveller:
        yield Clock(traveller, ZoneInfo(CLINIC_TZ))


def _with_django(request) -> bool:
    """False when pytest-django is switched off (``-p no:django``, for the pure clinical core)."""
    return request.config.pluginmanager.has_plugin("django")


@pytest.fixture(autouse=True)
def _postgres_only(request):
    """A test marked ``postgres_only`` (real row locks, concurrent connections) is skipped, with the reason shown,
    on another database; DB=postgres (as .ci/run does, through scripts/pg-throwaway) runs it."""
    if request.node.get_closest_marker("postgres_only") is None or not _with_django(request):
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL (DB=postgres); this run uses {connection.vendor}")


#: Where SQLite test runs keep the database their migrations built (git-ignored local state of the checkout).
MIGRATED_CACHE_DIR = VAR_DIR / "test-db"


def _migration_sources() -> list[Path]:
    """Every file whose content decides what ``migrate`` builds from an empty database: each app's migration files
    (or, for an app with models and no migrations, its models module, which ``run_syncdb`` reads), and the project's
    modules those migrations import (ketaclinic.audit.append_only's triggers), followed transitively."""
    import ast
    import importlib.util

    from django.apps import apps

    files: list[Path] = []
    for app in apps.get_app_configs():
        migrations = Path(app.path) / "migrations"
        if migrations.is_dir():
            files += sorted(migrations.glob("*.py"))
        elif app.models_module is not None and getattr(app.models_module, "__file__", None):
            files.append(Path(app.models_module.__file__))
    todo, seen = [f for f in files if "ketaclinic" in f.parts], set()
    while todo:
        tree = ast.parse(todo.pop().read_text())
        for node in ast.walk(tree):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("ketaclinic") and name not in seen:
                    seen.add(name)
                    spec = importlib.util.find_spec(name)
                    if spec is not None and spec.origin and spec.origin.endswith(".py"):
                        files.append(Path(spec.origin))
                        todo.append(Path(spec.origin))
    return files


def _migrated_cache_file(connection) -> Path:
    import hashlib
    import sqlite3

    import django
    from django.conf import settings

    digest = hashlib.sha256(f"{django.__version__} {sqlite3.sqlite_version} {settings.INSTALLED_APPS}".encode())
    for path in _migration_sources():
        digest.update(str(path.relative_to(path.anchor)).encode() + b"\0" + path.read_bytes() + b"\0")
    return MIGRATED_CACHE_DIR / f"{connection.alias}-{digest.hexdigest()[:24]}.sqlite3"


@contextmanager
def _migrations_run_once_per_change():
    """``migrate`` on an empty in-memory SQLite test database builds the schema from the migrations (the
    append-only triggers included) and keeps a copy of the result (var/test-db/, keyed by the content of every
    migration and every project module a migration imports); the next run whose migrations are byte for byte the
    same loads that copy instead of running them again. A changed migration, Django or SQLite version, or app list
    is a new key, so the migrations run again. KETACLINIC_TEST_DB_CACHE=0 turns this off; PostgreSQL always
    migrates."""
    import sqlite3

    from django.core.management.commands import migrate
    from django.db import connections

    if os.environ.get("KETACLINIC_TEST_DB_CACHE", "1") == "0":
        yield
        return
    run = migrate.Command.handle

    def handle(self, *args, **options):
        connection = connections[options.get("database") or "default"]
        if connection.vendor != "sqlite" or not connection.creation.is_in_memory_db(connection.settings_dict["NAME"]) \
                or connection.introspection.table_names():  # only the test database, and only while it is empty
            return run(self, *args, **options)
        cached = _migrated_cache_file(connection)
        connection.ensure_connection()
        try:  # read-only: a copy another run has just removed is not created empty
            source = sqlite3.connect(f"{cached.as_uri()}?mode=ro", uri=True)
        except sqlite3.OperationalError:
            pass
        else:
            try:
                source.backup(connection.connection)
                return None
            finally:
                source.close()
        result = run(self, *args, **options)
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.part")
        target = sqlite3.connect(partial)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        os.replace(partial, cached)  # whole or not at all: another worker may be reading or writing it
        for old in sorted(cached.parent.glob(f"{connection.alias}-*.sqlite3"), key=lambda p: p.stat().st_mtime)[:-4]:
            old.unlink(missing_ok=True)  # keep the few newest
        return result

    migrate.Command.handle = handle
    try:
        yield
    finally:
        migrate.Command.handle = run


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request, django_db_modify_db_settings_parallel_suffix):
    """pytest-django's hook just before it creates the test databases (kept: the xdist worker's suffix); there the
    SQLite test database's migrations run once per change of the migrations (:func:`_migrations_run_once_per_change`),
    unless ``--no-migrations`` was asked for."""
    if request.config.getvalue("nomigrations"):
        yield
        return
    with _migrations_run_once_per_change():
        yield


@pytest.fixture(autouse=True, scope="session")
def _static_files_looked_up_on_request(request):
    """WhiteNoise, as configured (WHITENOISE_USE_FINDERS), lists every static file of every finder when its
    middleware is built, and every test Client builds the middleware afresh: a tenth of the suite's time went
    there. In tests it looks a static file up when one is asked for instead (its autorefresh mode, as under
    DEBUG): the same files are served, no page test asks for one."""
    if not _with_django(request):
        yield
        return
    from django.test import override_settings

    with override_settings(WHITENOISE_AUTOREFRESH=True):
        yield


@pytest.fixture(scope="session")
def _live_server_answers_one_request_at_a_time():
    """See tests/live_server_one_request_at_a_time.py: set before pytest-django's live server starts."""
    from django.test.testcases import LiveServerThread

    from tests.live_server_one_request_at_a_time import OneRequestAtATimeServer

    LiveServerThread.server_class = OneRequestAtATimeServer


@pytest.fixture(scope="session")
def live_server(django_db_setup, _live_server_answers_one_request_at_a_time, live_server):
    """pytest-django's live server, started after the test database exists. Started before (as when a test names
    live_server before its first database fixture), it took the embedded database for a file: each request thread
    opened a connection of its own to the in-memory database's shared cache, where a polling page's read and a
    posted form's write fail with "database table is locked" instead of waiting. Started after, the server shares
    the test's one connection, one request at a time."""
    return live_server


ROLE_VALUES = ["prescriber", "nurse", "therapist", "front_desk", "billing", "compliance", "clinic_admin"]


@pytest.fixture
def clinic(db):
    from ketaclinic.clinic.models import Clinic

    return Clinic.objects.create(name="Test Clinic", time_zone=CLINIC_TZ)


@pytest.fixture
def make_user(db, clinic):
    """``make_user(*roles, username=None, **fields)``: a user holding ``roles`` at the test clinic (password
    "correct horse battery"); ``at=`` another clinic holds them there.
    ``make_user.many((roles, username, fields), ...)`` writes several at once (two INSERTs in all), as
    ``create_user`` would write each: the same rows, a tenth of the time the staff of every test took."""
    from django.contrib.auth.hashers import make_password

    from ketaclinic.accounts.models import RoleGrant, User

    counter = {"n": 0}

    def build(roles, username, fields):
        counter["n"] += 1
        name = username or f"user{counter['n']}_{'_'.join(roles) or 'none'}"
        if "email" in fields:
            fields = {**fields, "email": User.objects.normalize_email(fields["email"])}
        return User(username=User.normalize_username(name), password=make_password("correct horse battery"),
                    first_name="Test", last_name=f"User{counter['n']}", **fields)

    def many(*specs, at=None) -> list:
        users = User.objects.bulk_create([build(roles, username, fields) for roles, username, fields in specs])
        RoleGrant.objects.bulk_create([RoleGrant(user=user, clinic=at or clinic, role=role)
                                       for user, (roles, _, _) in zip(users, specs, strict=True) for role in roles])
        return users

    def make(*roles: str, username: str | None = None, at=None, **fields):
        return many((roles, username, fields), at=at)[0]

    make.many = many
    return make


@pytest.fixture
def staff(make_user, clinic) -> dict:
    """One user per role, keyed by role value."""
    return dict(zip(ROLE_VALUES, make_user.many(*(((role,), role, {}) for role in ROLE_VALUES)), strict=True))


@pytest.fixture
def client_for(staff):
    from django.test import Client

    def for_role(role: str):
        c = Client()
        c.force_login(staff[role])
        return c

    return for_role


@pytest.fixture
def actor_for(staff):
    from ketaclinic.audit.services import Actor

    def make(role: str):
        user = staff[role]
        return Actor(user=user, roles=user.role_set(), client_ip="127.0.0.1")

    return make


@pytest.fixture
def make_patient(clinic, actor_for):
    from ketaclinic.patients.services import register_patient

    counter = {"n": 0}

    def make(**overrides):
        counter["n"] += 1
        data = {
            "legal_given_name": "Avery",
            "legal_family_name": f"Sampleton{counter['n']}",
            "date_of_birth": date(1985, 4, 12),
            "sex_at_birth": "female",
        }
        data.update(overrides)
        return register_patient(actor=actor_for("front_desk"), clinic=clinic, data=data, confirm_duplicate=True)

    return make


@pytest.fixture
def patient(make_patient):
    return make_patient()


@pytest.fixture(autouse=True)
def _append_only_triggers_vs_flush(request):
    """A transactional test ends with a flush that empties every table. On SQLite that flush is a DELETE, which the
    append-only triggers refuse: the tables are emptied here first, with the triggers lifted for that moment only,
    so the flush finds nothing to delete and the triggers are in force for every later test without being put back
    in each (on PostgreSQL the flush is a TRUNCATE, which row triggers do not see)."""
    if not _with_django(request) or not {"transactional_db", "live_server"} & set(request.fixturenames):
        yield
        return
    from django.core.management import call_command
    from django.db import connection

    from ketaclinic.audit.append_only import APPEND_ONLY_TABLES, lifted

    request.getfixturevalue("transactional_db")
    yield
    if connection.vendor == "sqlite":
        with lifted(connection, *APPEND_ONLY_TABLES):
            call_command("flush", verbosity=0, interactive=False)


@contextmanager
def rolled_back_world(django_db_blocker) -> Iterator[None]:
    """For a module-scoped fixture that builds records once for all the tests of its module (the demo clinic, the
    foundation's clinic): the block runs at :func:`test_now` in the clinic's time zone, inside one transaction that
    is rolled back when the block ends (each test then runs in its own savepoint on top of it, through
    pytest-django's ``db``, so nothing a test writes reaches the next one, and nothing of the world reaches
    another module). The transaction is marked as Django's TestCase marks its own, so the services' durable
    blocks run inside it; the append-only triggers are in force while the world is built."""
    import time_machine
    from django.db import transaction
    from django.test import override_settings

    from ketaclinic.clinic.middleware import forget_time_zone

    with django_db_blocker.unblock(), override_settings(TIME_ZONE=CLINIC_TZ), \
            time_machine.travel(test_now(), tick=True):
        outer = transaction.atomic()
        outer._from_testcase = True  # as Django's TestCase marks its own: the services' durable blocks run inside
        outer.__enter__()
        try:
            forget_time_zone()
            yield
        finally:
            forget_time_zone()
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _fresh_clinic_time_zone(request):
    """Each test starts with no cached clinic time zone (the cache is per process)."""
    if not _with_django(request):
        yield
        return
    from ketaclinic.clinic.middleware import forget_time_zone

    forget_time_zone()
    yield
    forget_time_zone()
