"""KetaClinic settings: one module, every deployment difference comes from the environment.

A bad value fails loudly at start-up (ImproperlyConfigured) rather than being guessed at.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
# A test run (pytest imported, or KETACLINIC_TESTING=1); KETACLINIC_TESTING=0 says a process is not one even when
# pytest is imported (time-machine imports it: a worker a test starts at its clock runs with production settings).
TESTING = os.environ.get("KETACLINIC_TESTING") == "1" or (
    "pytest" in sys.modules and os.environ.get("KETACLINIC_TESTING") != "0")


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    if value is None:
        file_path = os.environ.get(f"{name}_FILE")
        if file_path:
            return Path(file_path).read_text().strip()
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"Unexpected value {name}={value!r}; use true or false.")


def env_int(name: str, default: int, minimum: int = 0, maximum: int = 10**9) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"Unexpected value {name}={value!r}; expected a whole number.") from None
    if not minimum <= number <= maximum:
        raise ImproperlyConfigured(f"{name}={number} is outside the allowed range {minimum}–{maximum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [part.strip() for part in value.split(",") if part.strip()]


# --- Where local state lives (outside the repository by default) -------------------------------
DATA_DIR = Path(env_str("KETACLINIC_DATA_DIR", str(Path.home() / ".local" / "share" / "ketaclinic")))


def _secret_key() -> str:
    configured = env_str("SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")
        return configured
    if TESTING:
        return "test-only-secret-key-not-for-any-deployment-0123456789"
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _key_made_once(name: str, make) -> str:
    """The key kept in the data directory's file ``name``, made by ``make()`` the first time (mode 0600). The file is
    written whole under another name and then linked into place, so two processes starting at once share one key."""
    key_file = DATA_DIR / name
    if not key_file.exists():
        DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        draft = DATA_DIR / f".{name}.{os.getpid()}"
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:  # 0600 from birth
            out.write(make())
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()


def _chain_key() -> bytes:
    """The key of the audit trail's and custody ledger's HMAC chains, kept outside the database so that write
    access to the database is not enough to re-hash an edited chain. ``CHAIN_KEY`` (or ``CHAIN_KEY_FILE``): at
    least 64 hex digits; otherwise a key is made once in the data directory. Keep it in every backup, apart from
    the database: without it the chains cannot be verified."""
    configured = env_str("CHAIN_KEY")
    if not configured and not TESTING:
        configured = _key_made_once("chain_key", lambda: secrets.token_hex(32))
    if TESTING and not configured:
        configured = "7e57" * 16  # test-only
    try:
        key = bytes.fromhex(configured)
    except ValueError:
        raise ImproperlyConfigured("CHAIN_KEY must be hex digits.") from None
    if len(key) < 32:
        raise ImproperlyConfigured("CHAIN_KEY must be at least 64 hex digits (32 bytes).")
    return key


CHAIN_KEY = _chain_key()
#: Whether the keys came from the environment (CHAIN_KEY / NOTE_KEYS or their _FILE): the deploy check wants them
#: to, so that they are in the clinic's secrets and backups, not only in a file the app made itself.
KEYS_CONFIGURED = {"CHAIN_KEY": bool(env_str("CHAIN_KEY")), "NOTE_KEYS": bool(env_str("NOTE_KEYS"))}


def _note_keys() -> list[str]:
    """The Fernet keys that encrypt therapist notes and other sensitive free text at rest (ketaclinic/encryption.py):
    ``NOTE_KEYS`` (or ``NOTE_KEYS_FILE``), comma-separated, the first one encrypting; otherwise one key made once in
    the data directory. Keep them outside the database and in every backup (apart from it)."""
    configured = env_str("NOTE_KEYS")
    if not configured and TESTING:
        configured = "dGVzdC1vbmx5LW5vdGUta2V5LW5vdC1mb3ItdXNlLTA="  # test-only
    if not configured:
        from cryptography.fernet import Fernet

        configured = _key_made_once("note_keys", lambda: Fernet.generate_key().decode("ascii"))
    keys = [k.strip() for k in configured.split(",") if k.strip()]
    try:
        from cryptography.fernet import Fernet

        for k in keys:
            Fernet(k.encode("ascii"))
    except ValueError:
        raise ImproperlyConfigured("NOTE_KEYS must be Fernet keys (32 url-safe base64-encoded bytes each), "
                                   "comma-separated.") from None
    if not keys:
        raise ImproperlyConfigured("NOTE_KEYS is empty.")
    return keys


NOTE_KEYS = _note_keys()
# Where the chains' signed checkpoints are appended (`manage.py checkpoint_chains`): outside the database, ideally
# on another disk or host, and copied into every backup.
CHAIN_CHECKPOINT_DIR = Path(env_str("CHAIN_CHECKPOINT_DIR", str(DATA_DIR / "checkpoints")))
# When set, verify_audit/verify_ledger fail if the newest checkpoint is older than this (checkpoints stopped, or the
# newest lines were removed from the file); set it to a little more than the schedule, e.g. 15 for every 5 minutes.
CHAIN_CHECKPOINT_MAX_AGE_MINUTES = env_int("CHAIN_CHECKPOINT_MAX_AGE_MINUTES", 0, 0, 7 * 24 * 60)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Security switches for a real deployment -------------------------------------------------
SECURE_COOKIES = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 0, 0, 63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0 and env_bool("HSTS_PRELOAD", False)
# Checks a clinic has decided to silence, by their ids (e.g. security.W021 while it does not preload HSTS).
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_CHECKS", [])
# Passkeys answer to one site: its domain (RP ID) and origin. Unset, the request's host is used (fine on a laptop).
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID")
WEBAUTHN_ORIGIN = env_str("WEBAUTHN_ORIGIN")
SECURE_SSL_REDIRECT = env_bool("SSL_REDIRECT", False)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The reverse proxies (addresses or networks) whose X-Forwarded-For is believed for the client's address (audit
# trail, sign-in throttle): only the clinic's own proxy, never "any".
TRUSTED_PROXIES = [ipaddress.ip_network(n, strict=False) for n in env_list("TRUSTED_PROXIES", [])]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Applications ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "django_otp",  # the staff second factor: TOTP devices and recovery codes (static devices)
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_tasks_db",  # the task database and `manage.py db_worker` behind Django's task framework
    "ketaclinic.accounts",
    "ketaclinic.audit",
    "ketaclinic.clinic",
    "ketaclinic.patients",
    "ketaclinic.screening",
    "ketaclinic.treatments",
    "ketaclinic.integration",
    "ketaclinic.measures",
    "ketaclinic.portal",
    "ketaclinic.custody",
    "ketaclinic.scheduling",  # the front desk's calendar: above patients, clinic, treatments, integration
    "ketaclinic.billing",  # prices, estimates, invoices, superbills: above scheduling, treatments, patients
    "ketaclinic.reminders",  # e-mail and SMS reminders: reads scheduling, treatments, measures
    "ketaclinic.messaging",  # secure messages patient <-> care team: above portal, measures, patients
    "ketaclinic.reports",  # outcomes, safety and operations reports; the research export: reads the clinical apps
    "ketaclinic.fhir",  # the FHIR facade reads every clinical app; imported by none but crossapp
    "ketaclinic.crossapp",  # the top layer: uses many apps, imported by none
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ketaclinic.nocache.NoStoreForSignedInMiddleware",  # patient data never stays in a browser or proxy cache
    "ketaclinic.clinic.middleware.ActingClinicMiddleware",  # which clinic of the network the request acts for
    "django.contrib.messages.middleware.MessageMiddleware",
    "ketaclinic.accounts.middleware.IdleTimeoutMiddleware",
    "ketaclinic.accounts.middleware.AccessPolicyMiddleware",
    "ketaclinic.patients.middleware.BreakGlassMiddleware",  # a record outside one's care team: break the glass
    "ketaclinic.clinic.middleware.ClinicTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "ketaclinic.urls"
WSGI_APPLICATION = "ketaclinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "ketaclinic.accounts.context_processors.staff_navigation",
            ],
        },
    },
]

# --- Database: SQLite embedded by default, PostgreSQL when DB=postgres ---------------------------
VAR_DIR = BASE_DIR / "var"  # local state of a checkout (embedded database, collected static files); git-ignored
DB = env_str("DB", "sqlite")
if DB == "sqlite":
    SQLITE_PATH = Path(env_str("DB_NAME", str(VAR_DIR / "ketaclinic.sqlite3")))
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
            },
            # Each worker keeps its connection between requests (no reopening and no PRAGMAs per request).
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60, 0, 3600),
            "CONN_HEALTH_CHECKS": True,
        }
    }
elif DB == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": env_str("DB_HOST", "127.0.0.1"),
            "PORT": env_int("DB_PORT", 5432, 1, 65535),
            "NAME": env_str("DB_NAME", "ketaclinic"),
            "USER": env_str("DB_USER", "postgres"),
            "PASSWORD": env_str("DB_PASSWORD", ""),
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60, 0, 3600),
            "CONN_HEALTH_CHECKS": True,
        }
    }
    if env_str("DB_REPLICA_HOST"):  # a streaming read replica for exports and reports (ketaclinic/dbrouting.py)
        DATABASES["replica"] = {**DATABASES["default"], "HOST": env_str("DB_REPLICA_HOST"),
                                "PORT": env_int("DB_REPLICA_PORT", DATABASES["default"]["PORT"], 1, 65535),
                                "TEST": {"MIRROR": "default"}}
else:
    raise ImproperlyConfigured(f"Unexpected value DB={DB!r}; use 'sqlite' or 'postgres'.")
DATABASE_ROUTERS = ["ketaclinic.dbrouting.ReplicaRouter"]
# How long a statement of `migrate` waits for its table's lock on PostgreSQL before it gives up and its migration
# rolls back (run `migrate` again): an upgrade never leaves the clinic queued behind a long report. 0 waits for ever.
# Index builds run concurrently and are not bound by it (ketaclinic/migrationops.py, docs/operations.md).
MIGRATION_LOCK_TIMEOUT_SECONDS = env_int("DB_MIGRATION_LOCK_TIMEOUT", 5, 0, 3600)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_URL_PATH = "/accounts/login/"
LOGIN_REDIRECT_URL = "clinic:today"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Idle session timeout in minutes (issue 2: default 15).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 15, 1, 24 * 60)
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Sign-in throttle (ketaclinic/accounts/throttle.py): at most LOGIN_FAILURE_LIMIT passwords are checked for one
# username in a burst, then one per delay, the delay doubling from LOGIN_DELAY_SECONDS up to LOGIN_LOCKOUT_MINUTES
# (a delay, never a permanent lock: an attacker cannot keep a clinician out; an admin or the clinician's second
# factor lifts it). One source address gets LOGIN_ADDRESS_FAILURE_LIMIT failures (a clinic shares one address).
# Failures are forgotten LOGIN_FAILURE_WINDOW_MINUTES after the last one.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, 1, 100)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 20, 1, 10000)
LOGIN_DELAY_SECONDS = env_int("LOGIN_DELAY_SECONDS", 30, 1, 3600)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, 1, 24 * 60)
LOGIN_FAILURE_WINDOW_MINUTES = env_int("LOGIN_FAILURE_WINDOW_MINUTES", 60, 1, 7 * 24 * 60)
# Password reset links work once and for 30 minutes; at most PASSWORD_RESET_PER_HOUR requests an hour per address
# typed and per source address.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_MINUTES", 30, 5, 24 * 60) * 60
PASSWORD_RESET_PER_HOUR = env_int("PASSWORD_RESET_PER_HOUR", 5, 1, 1000)
# Staff second factor (TOTP with recovery codes). Prescribers, compliance leads and clinic admins must use one;
# KETACLINIC_REQUIRE_2FA_FOR_ALL=true requires it of every staff member. Demo accounts (User.is_demo) are exempt
# from the requirement only when KETACLINIC_2FA_EXEMPT_DEMO_ACCOUNTS=true (for ./dev demo; never in a deployment).
KETACLINIC_REQUIRE_2FA_FOR_ALL = env_bool("KETACLINIC_REQUIRE_2FA_FOR_ALL", False)
KETACLINIC_2FA_REQUIRED_ROLES = ("prescriber", "compliance", "clinic_admin")
KETACLINIC_2FA_EXEMPT_DEMO_ACCOUNTS = env_bool("KETACLINIC_2FA_EXEMPT_DEMO_ACCOUNTS", False)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "KetaClinic")
# Who may open a patient's record. "clinic" (the default, for a clinic where everyone treats everyone): every role
# with chart access, each opening audited. "care_team": staff holding a role in KETACLINIC_CARE_TEAM_ROLES open only
# the records of patients whose care team they are on (named on the chart, or recorded as treating the patient);
# any other record opens by breaking the glass: a reason, access for KETACLINIC_BREAK_GLASS_MINUTES, and a review
# by the compliance lead (patients:break_glass_reviews).
KETACLINIC_CHART_ACCESS = env_str("KETACLINIC_CHART_ACCESS", "clinic")
if KETACLINIC_CHART_ACCESS not in ("clinic", "care_team"):
    raise ImproperlyConfigured("KETACLINIC_CHART_ACCESS must be 'clinic' or 'care_team'.")
KETACLINIC_CARE_TEAM_ROLES = tuple(env_list("KETACLINIC_CARE_TEAM_ROLES", ["prescriber", "nurse", "therapist"]))
KETACLINIC_BREAK_GLASS_MINUTES = env_int("KETACLINIC_BREAK_GLASS_MINUTES", 240, 5, 24 * 60)
# Secure messages' attachments (ketaclinic/messaging/attachments.py): the largest file, and the virus scanner
KETACLINIC_MESSAGE_ATTACHMENT_MAX_BYTES = env_int("KETACLINIC_MESSAGE_ATTACHMENT_MAX_BYTES", 5 * 2**20, 1024, 50 * 2**20)
KETACLINIC_MESSAGE_SCANNER = env_str("KETACLINIC_MESSAGE_SCANNER", "")  # "", "clamd:/path/to/clamd.sock" or dotted path

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True
# The clinic's one date and time style (Y-m-d, H:i) for |date, |time and {{ a_datetime }}: ketaclinic/clinic/formats/
FORMAT_MODULE_PATH = ["ketaclinic.clinic.formats"]

# --- Static files: all served by the app itself, no CDN -----------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))  # collectstatic writes here (`./dev serve`)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING or env_bool("KETACLINIC_PLAIN_STATIC", True)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# --- Email (console in the demo; SMTP by environment) -------------------------------------------
EMAIL_MODE = env_str("EMAIL_MODE", "console")
if EMAIL_MODE == "console":
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
elif EMAIL_MODE == "smtp":
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("EMAIL_HOST", "localhost"),
                "port": env_int("EMAIL_PORT", 587, 1, 65535),
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_str("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    }
else:
    raise ImproperlyConfigured(f"Unexpected value EMAIL_MODE={EMAIL_MODE!r}; use 'console' or 'smtp'.")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "KetaClinic <no-reply@ketaclinic.invalid>")
# Reminders by SMS (docs/reminders.md): the backend class, and the shared secret of the inbound SMS webhook
KETACLINIC_SMS_BACKEND = env_str("KETACLINIC_SMS_BACKEND", "ketaclinic.reminders.channels.ConsoleSmsBackend")
KETACLINIC_SMS_WEBHOOK_SECRET = env_str("KETACLINIC_SMS_WEBHOOK_SECRET")
# With KETACLINIC_SMS_BACKEND=ketaclinic.reminders.channels.TwilioSmsBackend: the account, its token and the sender
# Where secure messages' attachments are kept (default: <KETACLINIC_DATA_DIR>/message-attachments)
MESSAGE_ATTACHMENT_DIR = Path(env_str("MESSAGE_ATTACHMENT_DIR")) if env_str("MESSAGE_ATTACHMENT_DIR") else None
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM = env_str("TWILIO_FROM")
TWILIO_API_BASE = env_str("TWILIO_API_BASE", "https://api.twilio.com")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    # huey's consumer says once (not twice) what it starts, takes and finishes
    "loggers": {"huey": {"handlers": ["console"], "level": env_str("LOG_LEVEL_WORKER", "INFO"), "propagate": False}},
}

# --- Background work: Django's task framework; `manage.py worker` runs the configured backend's worker -----------
# "database" (default, either engine): django-tasks-db, tasks claimed in the clinic's own database (SKIP LOCKED on
# PostgreSQL), any number of `db_worker`s on any machines. "huey": huey on PostgreSQL (its own tables; workers are
# woken by LISTEN/NOTIFY rather than polling, and each consumer runs HUEY_WORKERS threads), in the clinic's database
# or in a queue database of its own (HUEY_DSN). Either way a task is taken by one worker only, and a worker killed
# mid-task leaves it unfinished, never run twice (docs/operations.md, "The background worker").
TASK_BACKEND = env_str("KETACLINIC_TASK_BACKEND", "database")
if TASK_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif TASK_BACKEND == "huey":
    from psycopg.conninfo import make_conninfo
    if DB != "postgres" and not env_str("HUEY_DSN"):
        raise ImproperlyConfigured("KETACLINIC_TASK_BACKEND=huey keeps its queue on PostgreSQL: set DB=postgres, or "
                                   "HUEY_DSN to a PostgreSQL database for the queue.")
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django_tasks_db") + 1, "huey.contrib.djhuey")
    TASKS = {"default": {"BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend"}}
    _db = DATABASES["default"]
    HUEY = {
        "huey_class": "huey.PostgresHuey",
        "name": env_str("HUEY_NAME", str(_db["NAME"])),  # one queue per install, even in a shared queue database
        "immediate": False,  # never run in the web process, whatever DEBUG says
        "results": True,  # the status page and Task.get_result read each task's record
        "utc": True,
        "connection": {
            # the clinic's database unless HUEY_DSN names another; the tables are made by `manage.py worker`
            # (create_huey_tables), not by every process that imports the settings
            "dsn": env_str("HUEY_DSN") or make_conninfo(**{
                k: v for k, v in (("host", _db.get("HOST")), ("port", _db.get("PORT")), ("dbname", _db.get("NAME")),
                                  ("user", _db.get("USER")), ("password", _db.get("PASSWORD"))) if v not in (None, "")}),
            "create_tables": False,
            "read_timeout": 5,  # seconds a waiting consumer listens before it looks at the schedule again
        },
        "consumer": {"workers": env_int("HUEY_WORKERS", 2, 1, 64), "worker_type": "thread",
                     "check_worker_health": True, "health_check_interval": 10},
    }
else:
    raise ImproperlyConfigured(f"Unexpected value KETACLINIC_TASK_BACKEND={TASK_BACKEND!r}; use 'database' or 'huey'.")

if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # never a developer's real checkpoint file: each test process writes its own
    CHAIN_CHECKPOINT_DIR = Path(tempfile.mkdtemp(prefix="ketaclinic-test-checkpoints-"))
    # each test process its own report files: a job's prune removes folders no job of its own database owns, and
    # parallel test processes each have their own database
    REPORT_EXPORT_DIR = Path(tempfile.mkdtemp(prefix="ketaclinic-test-report-exports-"))
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    KETACLINIC_SMS_BACKEND = "ketaclinic.reminders.channels.LocmemSmsBackend"
