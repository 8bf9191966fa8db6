"""Vendorwatch settings, read from the environment.

Two modes, chosen by DJANGO_ENV: ``development`` (default: DEBUG on, SQLite under var/,
an embedded filesystem broker, console e-mail) and ``production`` (SECRET_KEY and
ALLOWED_HOSTS required, HTTPS-only cookies, HSTS; ``manage.py check --deploy`` is clean).
Every variable is listed with its default in the README.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from .env import env_bool, env_choice, env_int, env_list, env_required, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DJANGO_ENV = env_choice("DJANGO_ENV", "development", ("development", "production"))
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DEBUG", not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env_required("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        env_required("ALLOWED_HOSTS")
else:
    SECRET_KEY = (
        env_str("SECRET_KEY") or "dev-only-insecure-key-do-not-use-in-production-0123456789"
    )
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # lessons full-text search (SearchVectorField); harmless on SQLite
    "django_htmx",
    "ninja",  # serves the API docs' assets from static/, no CDN
    "auditlog",
    "axes",
    "accounts",
    "vendors",
    "engagements",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "outsourcing.api_errors.ApiJsonErrorsMiddleware",  # JSON for every /api/ error, DEBUG too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "outsourcing.not_allowed.MethodNotAllowedPage",  # a page, not a blank 405, for browsers
    "auditlog.middleware.AuditlogMiddleware",
    "accounts.middleware.OrganizationMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lock-out into the lock-out page
]

ROOT_URLCONF = "outsourcing.urls"
WSGI_APPLICATION = "outsourcing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organization",
            ],
            "builtins": ["outsourcing.formats"],  # money, number, day, moment on every page
        },
    },
]
# Widgets are written in Python, the same HTML as Django's widget templates, faster.
FORM_RENDERER = "outsourcing.form_renderer.FastRenderer"

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'vendorwatch.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of one
        # failing with "database is locked" half-way through a transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Persistent connections with a health check: after a PostgreSQL restart the first
    # request on a dead connection fails cleanly and the next one reconnects.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
    # Test databases are copied from template0, which nobody can connect to: a session
    # left on template1 (psql, a tool) would otherwise fail CREATE DATABASE, and Django
    # answers that with sys.exit(2), which takes every test of that worker down with it.
    DATABASES["default"].setdefault("TEST", {}).setdefault("TEMPLATE", "template0")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery ---------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL") or ""
CELERY_QUEUE_DIR = VAR_DIR / "celery" / "queue"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task whose worker died (acks_late) comes back after this many seconds.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
    }
    CACHES = {
        "default": {
            # Rate-limit counters only: a Redis outage must not fail requests (fails open).
            "BACKEND": "outsourcing.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # Embedded broker for a laptop: kombu's filesystem transport works across processes
    # when "in" and "out" are the same folder. It does not redeliver after a crash.
    CELERY_QUEUE_DIR.mkdir(parents=True, exist_ok=True)
    # The host is ignored, but without one kombu warns on every connection (twice a start).
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),  # not ./control in the checkout
        "store_processed": False,
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task is acknowledged after it ran; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # SIGKILLed worker: the task goes back to the queue
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False  # a web request must never hang on a dead broker
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Static schedule (django-celery-beat does not support Django 6.1 yet). Later features
# add their periodic tasks here; every entry carries an expiry so ticks queued while the
# broker was down do not pile up.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}

# --- Auth --------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "engagements:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # counts failures and refuses locked-out log-ins
    "django.contrib.auth.backends.ModelBackend",
]
# Log-in lock-out (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one e-mail
# from one address, that pair is locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "accounts.auth.lockout_username"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUDITLOG_LOGENTRY_MODEL = "accounts.AuditEntry"
# auditlog's own migrations create its default log table (with a foreign key to users) even
# when the model is swapped for ours; without them, nothing creates that unused table, and
# PostgreSQL can flush the test database.
MIGRATION_MODULES = {"auditlog": None}
AUDITLOG_STORE_JSON_CHANGES = True
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/min")
INVITATION_TTL_DAYS = env_int("INVITATION_TTL_DAYS", 14, minimum=1)
# Vendor portal: how long a link works, and how many wrong links one address may try a minute.
PORTAL_LINK_TTL_DAYS = env_int("PORTAL_LINK_TTL_DAYS", 90, minimum=1)
PORTAL_BAD_LINKS_PER_MINUTE = env_int("PORTAL_BAD_LINKS_PER_MINUTE", 20, minimum=1)
# Mail capture: how long a digest's "how did the meeting go?" link works.
MEETING_LINK_TTL_DAYS = env_int("MEETING_LINK_TTL_DAYS", 7, minimum=1)

# --- I18n, time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # stored in UTC; shown in the organization's time zone
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Largest attachment (vendors: evidence and contracts), in megabytes.
MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 10, minimum=1)
# manage.py import_org: caps on what an archive may expand to (organization.json, all members).
IMPORT_MAX_JSON_MB = env_int("IMPORT_MAX_JSON_MB", 20, minimum=1)
IMPORT_MAX_TOTAL_MB = env_int("IMPORT_MAX_TOTAL_MB", 2048, minimum=1)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- E-mail -----------------------------------------------------------------------------------
# Django 6.1's MAILERS. EMAIL_BACKEND picks the backend: "console" (development default: printed
# to the log), "smtp" (production default; EMAIL_HOST & co.), "locmem", "file" (one file per
# connection under EMAIL_FILE_PATH: what a worker in another process sent, for tests), or a
# dotted path.
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}
_email_backend = env_str("EMAIL_BACKEND") or ("smtp" if PRODUCTION else "console")
_email_backend = _EMAIL_BACKENDS.get(_email_backend, _email_backend)
_email_options: dict = {}
if _email_backend.endswith("smtp.EmailBackend"):
    _email_options = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25, minimum=1),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10, minimum=1),
    }
elif _email_backend.endswith("filebased.EmailBackend"):
    _email_options = {"file_path": env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))}
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Vendorwatch <vendorwatch@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Security ----------------------------------------------------------------------------------
# A strict policy: no inline script or style anywhere; htmx is configured by a meta tag
# so it injects no inline styles and never evaluates strings.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # aiosmtpd (manage.py smtpd) logs each SMTP command, addresses included, at INFO: about
        # fifteen lines a message, personal data and most of the receiver's logging cost.
        "mail.log": {"level": "WARNING"},
        # Apprise reports a failed send by logging it: engagements.alerts.chat keeps each
        # delivery's records and the outbox logs the failure with the notification (once).
        "apprise": {"level": "DEBUG", "handlers": [], "propagate": False},
    },
}

# --- Health watcher (engagements.watch, engagements.alerts) -----------------------------------------
from celery.schedules import crontab as _crontab  # noqa: E402

# The full sweep is the reconciliation pass: daily (and `manage.py sweep_health`); the steady
# sweep evaluates what writes marked and what came due every WATCH_DIRTY_SECONDS, in chunks of
# WATCH_DIRTY_CHUNK, a run going on for WATCH_RUN_SECONDS while there is work. A claim of marks
# older than WATCH_CLAIM_SECONDS belonged to a worker that died and is taken again.
HEALTH_SWEEP_INTERVAL_SECONDS = env_int("HEALTH_SWEEP_INTERVAL_SECONDS", 86400, minimum=10)
WATCH_DIRTY_SECONDS = env_int("WATCH_DIRTY_SECONDS", 5, minimum=1)
WATCH_DIRTY_CHUNK = env_int("WATCH_DIRTY_CHUNK", 1000, minimum=1)
WATCH_RUN_SECONDS = env_int("WATCH_RUN_SECONDS", 10, minimum=1)
WATCH_CLAIM_SECONDS = env_int("WATCH_CLAIM_SECONDS", 120, minimum=WATCH_RUN_SECONDS * 3)
# A full sweep goes in chunks of this many active engagements, spread over the workers.
HEALTH_SWEEP_CHUNK = env_int("HEALTH_SWEEP_CHUNK", 5000, minimum=1)
HEALTH_DEESCALATION_HOLD_HOURS = env_int("HEALTH_DEESCALATION_HOLD_HOURS", 24, minimum=0)
HEALTH_CUT_LOSSES_PERSIST_DAYS = env_int("HEALTH_CUT_LOSSES_PERSIST_DAYS", 7, minimum=0)
HEALTH_WEBHOOK_TIMEOUT = env_int("HEALTH_WEBHOOK_TIMEOUT", 5, minimum=1)
# SSRF guard: webhooks may target private/loopback addresses only outside production.
HEALTH_WEBHOOK_ALLOW_PRIVATE = env_bool("HEALTH_WEBHOOK_ALLOW_PRIVATE", not PRODUCTION)
# The outbox drains while it has work: a run claims OUTBOX_BATCH rows at a time and goes on
# for OUTBOX_RUN_SECONDS, then queues the next run if rows are still due (beat's minute is
# only the safety net). A claim older than OUTBOX_CLAIM_SECONDS belonged to a run that died
# (SIGKILL, lost machine) and is taken again; a live run releases what it has not sent when
# its budget is spent, so its claims never get that old.
OUTBOX_BATCH = env_int("OUTBOX_BATCH", 100, minimum=1)
OUTBOX_RUN_SECONDS = env_int("OUTBOX_RUN_SECONDS", 10, minimum=1)
OUTBOX_CLAIM_SECONDS = env_int(
    "OUTBOX_CLAIM_SECONDS", 120, minimum=OUTBOX_RUN_SECONDS + 4 * HEALTH_WEBHOOK_TIMEOUT
)
HEALTH_DASHBOARD_POLL_SECONDS = env_int("HEALTH_DASHBOARD_POLL_SECONDS", 30, minimum=2)
# The dashboard's risk table is cached until the sweep or an edit changes it, and at most this long.
HEALTH_DASHBOARD_CACHE_SECONDS = env_int("HEALTH_DASHBOARD_CACHE_SECONDS", 60, minimum=0)
# Every entry expires: ticks queued while the broker was down do not pile up, and a missed
# tick costs nothing because each sweep recomputes everything as of its own moment.
CELERY_BEAT_SCHEDULE |= {
    "sweep-marked": {
        "task": "engagements.tasks.sweep_marked",
        "schedule": WATCH_DIRTY_SECONDS,
        "options": {"expires": WATCH_DIRTY_SECONDS * 0.9},
    },
    "sweep-health": {
        "task": "engagements.tasks.sweep_health",
        "schedule": HEALTH_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": HEALTH_SWEEP_INTERVAL_SECONDS * 0.9},
    },
    "dispatch-outbox": {
        "task": "engagements.tasks.dispatch_outbox",
        "schedule": 60,
        "options": {"expires": 55},
    },
    "send-digest": {
        "task": "engagements.tasks.send_digest",
        # Hourly: each organization's digest goes from 07:00 in its own time zone, once a day.
        "schedule": _crontab(minute=0),
        "options": {"expires": 3000},
    },
    "remind-contracts": {
        "task": "engagements.tasks.remind_contracts",
        # Hourly: a reminder day starts at midnight in each organization's time zone. The
        # contracts under an active engagement are reminded by the watcher (its deadlines).
        "schedule": _crontab(minute=5),
        "options": {"expires": 3000},
    },
}

# --- Mail and calendar capture (engagements.capture) ----------------------------------------
# Off until MAIL_INBOUND_DOMAIN is set: engagements get no capture address before that.
MAIL_INBOUND_DOMAIN = (env_str("MAIL_INBOUND_DOMAIN", "") or "").strip().lower()
# A message larger than this is refused with a reason (its headers are kept, not its bytes).
MAIL_MAX_MB = env_int("MAIL_MAX_MB", 25, minimum=1)
SMTPD_HOST = env_str("SMTPD_HOST", "127.0.0.1")
SMTPD_PORT = env_int("SMTPD_PORT", 2525, minimum=1)
# SMTP and webhook mail is answered once its bytes are queued (one INSERT); a drain task,
# queued on commit, stores the queue through the pipeline for up to MAIL_DRAIN_RUN_SECONDS a
# run. Beat drains every MAIL_DRAIN_SECONDS too, for mail whose task was lost.
MAIL_DRAIN_SECONDS = env_int("MAIL_DRAIN_SECONDS", 30, minimum=1)
MAIL_DRAIN_RUN_SECONDS = env_int("MAIL_DRAIN_RUN_SECONDS", 20, minimum=1)
CELERY_BEAT_SCHEDULE |= {
    "drain-mail-queue": {
        "task": "engagements.tasks.drain_mail_queue",
        "schedule": MAIL_DRAIN_SECONDS,
        "options": {"expires": MAIL_DRAIN_SECONDS * 0.9},
    },
    "purge-raw-mail": {
        "task": "engagements.tasks.purge_raw_mail",
        "schedule": _crontab(minute=17, hour=3),
        "options": {"expires": 3600},
    },
}
# Provider inbound webhooks (django-anymail): /mail/inbound/<provider>/ answers 404 until its
# secret is set. Mailgun signs with its webhook signing key; Postmark and SendGrid authenticate
# with HTTP basic auth "user:password" in the URL you give them (Mailgun too, when it is set).
ANYMAIL = {
    "WEBHOOK_SECRET": env_str("MAIL_WEBHOOK_SECRET", "") or None,
    "MAILGUN_WEBHOOK_SIGNING_KEY": env_str("MAILGUN_WEBHOOK_SIGNING_KEY", "") or None,
}
# --- Code forges and trackers (engagements.forges) ------------------------------------------
# A webhook body larger than this is refused with 413 before it is read past the limit.
FORGE_WEBHOOK_MAX_KB = env_int("FORGE_WEBHOOK_MAX_KB", 1024, minimum=16)
# After "rotate secret", the previous secret still verifies this long (the forge's setting
# can be changed without losing deliveries in between).
FORGE_ROTATION_GRACE_HOURS = env_int("FORGE_ROTATION_GRACE_HOURS", 24, minimum=0)
# IMAP polling of a shared mailbox (off while IMAP_HOST is empty); its mail belongs to IMAP_ORG.
IMAP_HOST = env_str("IMAP_HOST", "") or ""
IMAP_PORT = env_int("IMAP_PORT", 993, minimum=1)
IMAP_SSL = env_bool("IMAP_SSL", True)
IMAP_USER = env_str("IMAP_USER", "") or ""
IMAP_PASSWORD = env_str("IMAP_PASSWORD", "") or ""
IMAP_FOLDER = env_str("IMAP_FOLDER", "INBOX") or "INBOX"
IMAP_ORG = env_str("IMAP_ORG", "") or ""
IMAP_POLL_SECONDS = env_int("IMAP_POLL_SECONDS", 60, minimum=10)
if IMAP_HOST:
    if not IMAP_ORG:
        from django.core.exceptions import ImproperlyConfigured as _Improper

        raise _Improper("IMAP_ORG must name the organization (slug) that owns the IMAP mailbox.")
    CELERY_BEAT_SCHEDULE |= {
        "poll-imap": {
            "task": "engagements.tasks.poll_imap",
            "schedule": IMAP_POLL_SECONDS,
            "options": {"expires": IMAP_POLL_SECONDS * 0.9},
        },
    }
