"""Artnex settings: everything comes from the environment, with defaults that run on one
machine with no outside services (SQLite, files on local disk, a filesystem Celery broker).

Production switches: ``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL`` (Redis or RabbitMQ),
``CACHE_URL`` (Redis, shared rate-limit counters), ``ARTNEX_S3_BUCKET`` (results on S3).
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from artnex.envfiles import file_aware_env
from artnex.production import ProductionValues, refusals
from upscale.engine import catalog as _catalog

from . import local_setup

BASE_DIR = Path(__file__).resolve().parent.parent

# Every setting X may instead come from the file named by X_FILE (Docker and Kubernetes
# secrets), so secrets need not sit in the process environment.
env = file_aware_env()
# A local .env (written by `make install`, never committed) fills in what the environment lacks;
# read into os.environ so that the engine, which does not import Django, sees it too.
local_setup.read_dotenv()

ARTNEX_ENV = env.str("ARTNEX_ENV", default="development")
if ARTNEX_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"ARTNEX_ENV must be development, test or production, not {ARTNEX_ENV!r}")
IS_PRODUCTION = ARTNEX_ENV == "production"

# Everything the service writes on local disk lives under one folder (ignored by git), which
# `python -m artnex.local_setup` (make install, make run) creates: settings write nothing.
VAR_DIR = local_setup.var_dir_from_environment()

if IS_PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")  # refused below when missing or weak
elif ARTNEX_ENV == "test":
    # Tests sign nothing that outlives them; a fixed key spares every test process the file.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or "artnex-test-only-not-secret-" + "x" * 32
else:
    # A development checkout keeps a random key under var/, so signed links survive a restart.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or local_setup.read_secret_key(VAR_DIR)
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            f"No DJANGO_SECRET_KEY and no development key in {VAR_DIR}: run `make install` "
            "(or `python -m artnex.local_setup`) once."
        )

DEBUG = env.bool("DJANGO_DEBUG", default=False)
_LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if IS_PRODUCTION else _LOCAL_HOSTS)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "accounts",
    "billing",
    "upscale",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "artnex.urls"
WSGI_APPLICATION = "artnex.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'artnex.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN,
    # so two transactions never deadlock upgrading read locks ("database is locked");
    # the timeout makes a writer wait its turn instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # 0: the web server is ASGI, where each request runs in a thread of its own and a persistent
    # connection would outlive it unused (Django docs, "Persistent connections"); use a pool instead.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate-limit counters) ------------------------------------------------------
# The embedded default is per-process memory: `make run` serves from one process. With
# several web processes, CACHE_URL must point at Redis so that limits are shared.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://artnex")}
RATELIMIT_USE_CACHE = "default"
# A local cache is fine for one process; production refuses it unless the operator opts out
# (ARTNEX_ALLOW_LOCAL_CACHE=1), which is then the decision that silences the warning.
_LOCAL_CACHE_ACCEPTED = "CACHE_URL" not in env and (
    not IS_PRODUCTION or env.bool("ARTNEX_ALLOW_LOCAL_CACHE", default=False)
)
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"] if _LOCAL_CACHE_ACCEPTED else []

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env.str("ARTNEX_MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- Storage of inputs and results ----------------------------------------------------
ARTNEX_S3_BUCKET = env.str("ARTNEX_S3_BUCKET", default="")
RESULT_TTL_SECONDS = env.int("ARTNEX_RESULT_TTL_SECONDS", default=24 * 3600)
if ARTNEX_S3_BUCKET:
    _results_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ARTNEX_S3_BUCKET,
            "endpoint_url": env.str("ARTNEX_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ARTNEX_S3_REGION", default="") or None,
            "querystring_auth": True,  # presigned GET links: no credentials needed to download
            "querystring_expire": RESULT_TTL_SECONDS,
            "signature_version": "s3v4",
            # Overwrite in place: a retried write lands under the name its link signs, in one
            # PUT (upscale.storage.save), instead of Django picking a new name.
            "file_overwrite": True,
            "default_acl": None,
        },
    }
else:
    _results_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
STORAGES = {
    "default": _results_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Keyed hash for API keys: a leaked database alone does not reveal usable keys.
# (Production requires its own pepper: see the production block.)
_API_KEY_PEPPER = env.str("ARTNEX_API_KEY_PEPPER", default="")
ARTNEX_API_KEY_PEPPER = _API_KEY_PEPPER or SECRET_KEY

# --- Production -----------------------------------------------------------------------
# ARTNEX_ENV=production refuses to start on settings that would expose customers or their
# money (artnex/production.py lists the rules). HTTPS is enforced here by default; behind a
# TLS-terminating proxy that already redirects and sends HSTS, the operator turns each off
# explicitly, and only that choice's deploy check is silenced.
if IS_PRODUCTION:
    _cache_backend = CACHES["default"]["BACKEND"]
    _refused = refusals(ProductionValues(
        secret_key=SECRET_KEY, debug=DEBUG, allow_private_urls=env.bool("ARTNEX_ALLOW_PRIVATE_URLS", default=False),
        api_key_pepper=_API_KEY_PEPPER, allowed_hosts=ALLOWED_HOSTS,
        shared_cache="locmem" not in _cache_backend.lower() and "dummy" not in _cache_backend.lower(),
        local_cache_opt_out=env.bool("ARTNEX_ALLOW_LOCAL_CACHE", default=False),
        email_configured="EMAIL_URL" in env,
        console_email_opt_out=env.bool("ARTNEX_ALLOW_CONSOLE_EMAIL", default=False),
    ))
    if _refused:
        raise ImproperlyConfigured("ARTNEX_ENV=production refuses to start:\n  - " + "\n  - ".join(_refused))
    SECURE_SSL_REDIRECT = env.bool("ARTNEX_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("ARTNEX_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("ARTNEX_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("ARTNEX_HSTS_PRELOAD", default=True)
    # Probes and scrapers talk plain HTTP to the process itself, inside the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SILENCED_SYSTEM_CHECKS += [
        check for check, operator_chose in (
            ("security.W008", not SECURE_SSL_REDIRECT),
            ("security.W004", not SECURE_HSTS_SECONDS),
            ("security.W005", SECURE_HSTS_SECONDS and not SECURE_HSTS_INCLUDE_SUBDOMAINS),
            ("security.W021", SECURE_HSTS_SECONDS and not SECURE_HSTS_PRELOAD),
        ) if operator_chose
    ]
# Only when the operator says a proxy sets it (e.g. X-Forwarded-Proto): trusting a header
# that no proxy overwrites would let any client claim HTTPS.
if _proxy_ssl_header := env.str("ARTNEX_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")

# --- Django REST framework ------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["artnex.json_parser.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "artnex.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# --- The upscale product --------------------------------------------------------------
ARTNEX_PRICE_CREDITS = env.int("ARTNEX_PRICE_CREDITS", default=100)
ARTNEX_MAX_INPUT_BYTES = env.int("ARTNEX_MAX_INPUT_BYTES", default=10 * 1024 * 1024)
# A JSON body carries the image base64-encoded (4/3 of its size): allow that plus room for
# the rest of the body, so that an oversized image gets image_too_large, not a generic 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = ARTNEX_MAX_INPUT_BYTES * 4 // 3 + 64 * 1024
# Pixel caps keep a worker's memory bounded: the engine tiles the network, but the decoded
# input and the assembled output still live in memory (64 MP RGB output = 192 MB).
ARTNEX_MAX_INPUT_PIXELS = env.int("ARTNEX_MAX_INPUT_PIXELS", default=4096 * 4096)
ARTNEX_MAX_OUTPUT_PIXELS = env.int("ARTNEX_MAX_OUTPUT_PIXELS", default=8192 * 8192)
# The engine's catalogue holds the scale range and formats (it is Django-free, so it cannot
# read settings); Django code reads them here.
ARTNEX_MIN_SCALE = _catalog.MIN_SCALE
ARTNEX_MAX_SCALE = _catalog.MAX_SCALE
ARTNEX_DEFAULT_SCALE = _catalog.DEFAULT_SCALE
ARTNEX_IMAGE_FORMATS = tuple(_catalog.FORMATS)  # ("JPEG", "PNG", "WEBP")
ARTNEX_ALLOW_PRIVATE_URLS = env.bool("ARTNEX_ALLOW_PRIVATE_URLS", default=False)
ARTNEX_FETCH_CONNECT_TIMEOUT = env.float("ARTNEX_FETCH_CONNECT_TIMEOUT", default=5.0)
ARTNEX_FETCH_READ_TIMEOUT = env.float("ARTNEX_FETCH_READ_TIMEOUT", default=15.0)
# How long the API holds the HTTP request open waiting for the worker. On time-out the
# request is failed and its credits refunded; a late worker result is discarded.
ARTNEX_WAIT_SECONDS = env.float("ARTNEX_WAIT_SECONDS", default=300.0)
ARTNEX_BURST_RATE = env.str("ARTNEX_BURST_RATE", default="120/m")
ARTNEX_PUBLIC_URL = env.str("ARTNEX_PUBLIC_URL", default="")  # e.g. https://api.example.com
# The engine reads its own settings (ARTNEX_MODEL_DIR, ARTNEX_DEFAULT_MODEL, ARTNEX_DEVICE,
# ARTNEX_PRECISION, ARTNEX_TILE, ...) from the environment: see upscale/engine/config.py.

# --- Billing (Stripe) -----------------------------------------------------------------
# Without these the product runs as before: the buy page says payments are not configured
# and admins grant credits by hand. Both keys are needed to sell (the webhook credits the
# payment); the publishable key is only shown to pages that embed Stripe.js.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# The stripe library's own base address; tests point it at a local server (stripe-mock works too).
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
ARTNEX_CURRENCY = env.str("ARTNEX_CURRENCY", default="usd").lower()

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: a real broker between separate web and worker
    # processes with no server to run. One folder serves as both in and out queue.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(local_setup.broker_folder(VAR_DIR, "queue")),
        "data_folder_out": str(local_setup.broker_folder(VAR_DIR, "queue")),
        "control_folder": str(local_setup.broker_folder(VAR_DIR, "control")),
        "store_processed": False,
        "polling_interval": 0.2,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True  # the request row is the single source of truth
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Each pool process loads its model before taking work (worker_process_init); a large network
# on a busy CPU needs more than Celery's default 4 s for that.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env.float("ARTNEX_WORKER_START_TIMEOUT", default=120.0)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("ARTNEX_TASK_SOFT_TIME_LIMIT", default=int(ARTNEX_WAIT_SECONDS) + 60)
CELERY_TASK_TIME_LIMIT = env.int("ARTNEX_TASK_TIME_LIMIT", default=CELERY_TASK_SOFT_TIME_LIMIT + 30)
# --- Celery queues and re-delivery -------------------------------------------------------
# Upscales have their own queue, consumed by GPU workers one task at a time (concurrency 1,
# prefetch 1): a worker takes a message only when it is free, so any free worker gets the next
# request. Housekeeping (beat's purge and stale sweeps) goes to the default queue, consumed
# beside beat, so it never waits behind long upscales.
ARTNEX_UPSCALE_QUEUE = env.str("ARTNEX_UPSCALE_QUEUE", default="upscale")
CELERY_TASK_DEFAULT_QUEUE = env.str("ARTNEX_HOUSEKEEPING_QUEUE", default="housekeeping")
CELERY_TASK_ROUTES = {"upscale.tasks.process_upscale": {"queue": ARTNEX_UPSCALE_QUEUE}}
# A worker that dies mid-task (kill -9, OOM, lost host) leaves its message unacknowledged: a
# lost pool process is rejected back onto the queue at once; a lost host's message comes back
# after the broker's visibility timeout. That timeout must outlast the longest task, or a
# running upscale would be handed to a second worker.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
ARTNEX_BROKER_VISIBILITY_TIMEOUT = env.int("ARTNEX_BROKER_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 60)
if ARTNEX_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("ARTNEX_BROKER_VISIBILITY_TIMEOUT must exceed the task time limit "
                               f"({CELERY_TASK_TIME_LIMIT} s)")
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # (RabbitMQ re-delivers a dead consumer's messages when its connection drops: no timeout.)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": ARTNEX_BROKER_VISIBILITY_TIMEOUT,
        # A broker that does not answer fails fast: the API answers 503 rather than hang.
        "socket_connect_timeout": 5, "socket_timeout": 10,
        # Sweep for messages of dead workers every 10 s (kombu's default scans every 100 s).
        "unacked_restore_interval": 10, "unacked_restore_throttle": 1,
    }
# RabbitMQ has no visibility timeout, but it does bound how long a consumer may hold a message
# unacknowledged: past its consumer_timeout (30 min by default) it closes the worker's channel
# and re-delivers the message while the upscale is still running. With late acknowledgement the
# longest job (a waited one ends by its wait) must end first: tell settings the server's value.
ARTNEX_RABBITMQ_CONSUMER_TIMEOUT = env.int("ARTNEX_RABBITMQ_CONSUMER_TIMEOUT", default=30 * 60)
_LONGEST_TASK_S = max(CELERY_TASK_TIME_LIMIT, int(ARTNEX_WAIT_SECONDS))
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")) and (
    ARTNEX_RABBITMQ_CONSUMER_TIMEOUT <= _LONGEST_TASK_S
):
    raise ImproperlyConfigured(
        f"ARTNEX_RABBITMQ_CONSUMER_TIMEOUT ({ARTNEX_RABBITMQ_CONSUMER_TIMEOUT} s, RabbitMQ's consumer_timeout) must "
        f"exceed the longest task time limit ({_LONGEST_TASK_S} s): raise consumer_timeout on the server first")
# A worker whose broker connection drops mid-upscale lets the task run on (Celery 6 is to cancel
# it by default). Its message comes back at once from RabbitMQ, after the visibility timeout
# from Redis; the row's conditional updates make a second run harmless, and the first run
# answers the waiter long before a cancelled job's re-run would (from Redis: after the wait).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Bounded publishing: with the broker down, enqueueing gives up within seconds.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "purge-expired-results": {"task": "upscale.tasks.purge_expired", "schedule": 15 * 60.0},
    "fail-stale-requests": {"task": "upscale.tasks.fail_stale", "schedule": 5 * 60.0},
}

# --- Async API, webhooks, idempotency (issue 11) ---------------------------------------
# Webhook deliveries: a 2xx answer within the time-out delivers; otherwise retried after
# base x 4^(n-1) seconds (30 s, 2 min, 8 min, 32 min, 2 h, 8.5 h), then given up.
ARTNEX_WEBHOOK_TIMEOUT_SECONDS = env.float("ARTNEX_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
ARTNEX_WEBHOOK_MAX_ATTEMPTS = env.int("ARTNEX_WEBHOOK_MAX_ATTEMPTS", default=7)
ARTNEX_WEBHOOK_RETRY_BASE_SECONDS = env.int("ARTNEX_WEBHOOK_RETRY_BASE_SECONDS", default=30)
CELERY_BEAT_SCHEDULE["retry-webhooks"] = {"task": "upscale.webhooks.retry_due", "schedule": 20.0}
CELERY_BEAT_SCHEDULE["purge-idempotency-keys"] = {"task": "upscale.idempotency.purge_expired",
                                                  "schedule": 3600.0}

# --- Customer portal: sign-up and login (django-allauth), pages, static assets ---------
INSTALLED_APPS += ["django.contrib.humanize", "allauth", "allauth.account", "drf_spectacular_sidecar"]
MIDDLEWARE += ["allauth.account.middleware.AccountMiddleware"]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # the admin's username login
    "allauth.account.auth_backends.AuthenticationBackend",  # customers: email and password
]
STATICFILES_DIRS = [BASE_DIR / "static"]
LOGIN_URL = "/accounts/login/"  # allauth's login page (Django's default path, spelled out)
LOGIN_REDIRECT_URL = "portal:dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False  # logging out is a POST with a CSRF token
ACCOUNT_SESSION_REMEMBER = None  # the login form offers "remember me"
# "optional": a new customer lands on the dashboard at once and is sent a link;
# "mandatory": no login before the link is followed.
ACCOUNT_EMAIL_VERIFICATION = env.str("ARTNEX_EMAIL_VERIFICATION", default="optional")
if ACCOUNT_EMAIL_VERIFICATION not in {"none", "optional", "mandatory"}:
    raise ImproperlyConfigured("ARTNEX_EMAIL_VERIFICATION must be none, optional or mandatory")
# allauth's own rate limits, counted in the cache (CACHE_URL shares them between web processes).
# Its defaults (sign-ups, password-reset and verification mails, ...) apply; failed logins, per
# IP and per account, are tunable here.
ACCOUNT_RATE_LIMITS = {"login_failed": env.str("ARTNEX_LOGIN_FAILED_RATE", default="10/m/ip,5/5m/key")}
# Account creation (the free plan and the starting grant in the ledger) belongs to billing.
ACCOUNT_ADAPTER = "billing.signup.SignupAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Artnex] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if IS_PRODUCTION else "http"  # links in those mails
# Mail: printed on the console unless EMAIL_URL names an SMTP server
# (smtp+tls://user:password@smtp.example.com:587).
if "EMAIL_URL" in env:
    # django-environ's documented idiom: the URL becomes EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ...
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Artnex <no-reply@localhost>")

# --- Logs and metrics -----------------------------------------------------------------
# Production logs one JSON object per line (ARTNEX_LOG_FORMAT=json|plain), for log shippers;
# attributes a filter or `extra=` puts on a record (the request id) become fields of it.
ARTNEX_LOG_FORMAT = env.str("ARTNEX_LOG_FORMAT", default="json" if IS_PRODUCTION else "plain")
if ARTNEX_LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"ARTNEX_LOG_FORMAT must be json or plain, not {ARTNEX_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line names the upscale request it serves ("-" outside one): see artnex.ids.
    "filters": {"request_id": {"()": "artnex.ids.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": ARTNEX_LOG_FORMAT,
                             "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
# JSON: Celery workers keep this configuration instead of installing their own plain handlers
# (which use the CELERY_WORKER_*LOG_FORMAT lines below).
CELERY_WORKER_HIJACK_ROOT_LOGGER = ARTNEX_LOG_FORMAT != "json"
# Counts every answer (first, so that its time includes every other middleware).
MIDDLEWARE.insert(0, "artnex.metrics.MetricsMiddleware")

if ARTNEX_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Onboarding -----------------------------------------------------------------------
# Credits every new account starts with (a ledger grant), whichever way it was opened.
ARTNEX_SIGNUP_CREDITS = env.int("ARTNEX_SIGNUP_CREDITS", default=500)

# --- OpenAPI (drf-spectacular) --------------------------------------------------------
INSTALLED_APPS += ["drf_spectacular"]
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
SPECTACULAR_SETTINGS = {
    "TITLE": "Artnex API",
    "DESCRIPTION": "Real-ESRGAN image upscaling. Every error answers "
    '{"success": false, "error": {"code", "message"}, "request_id"}.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# --- Request ids in the worker's log lines --------------------------------------------
# The id reaches the worker in a Celery message header; artnex/celery.py gives every log
# record of the worker process the request_id these formats name.
CELERY_WORKER_LOG_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] [%(request_id)s] %(message)s"
CELERY_WORKER_TASK_LOG_FORMAT = (
    "[%(asctime)s: %(levelname)s/%(processName)s] [%(request_id)s] %(task_name)s[%(task_id)s]: %(message)s"
)

# --- Slow clients and waiters (issue 7) ------------------------------------------------
# A failed image download (refused without charge, yet it held a connection for up to the
# fetch deadline) uses this many extra units of the key's burst limit.
ARTNEX_FAILED_FETCH_BURST_WEIGHT = env.int("ARTNEX_FAILED_FETCH_BURST_WEIGHT", default=10)
# Request bodies over DATA_UPLOAD_MAX_MEMORY_SIZE are answered 400 after reading and
# discarding up to this many bytes (lingering close: every client then reads the answer
# instead of a broken pipe); a body larger still gets the answer and a closed connection.
ARTNEX_DRAIN_MAX_BYTES = env.int("ARTNEX_DRAIN_MAX_BYTES", default=64 * 1024 * 1024)
