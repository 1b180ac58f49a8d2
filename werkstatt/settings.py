"""Settings for Werkstatt-Protokolle, all read from the environment.

Development needs nothing set: DEBUG is on and the database is an SQLite file
in the project folder. Production sets at least DJANGO_SECRET_KEY,
DJANGO_DEBUG=false, DJANGO_ALLOWED_HOSTS and DATABASE_URL (see README.md).
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    value = value.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # A known key would let anyone forge sessions and password-reset links.
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-never-in-production"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "nested_admin",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",
    "auditlog",
    "werkstatt.apps.AxesConfig",
    "csp",
    "django_tasks",
    "werkstatt.apps.TasksDatabaseConfig",
    "protokolle",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "werkstatt.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # auditlog's own would record the left-most X-Forwarded-For entry, which the client writes.
    "werkstatt.middleware.AuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as its documentation asks: it answers locked-out logins.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses logins while an account or address is locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "werkstatt.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # The editor's rows only (werkstatt/jinja2.py says why), rendered by
        # protokolle/templatetags/editor_rows.py.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "werkstatt.jinja2.environment"},
    },
]

WSGI_APPLICATION = "werkstatt.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "0")),
    )
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several requests at once (two tabs saving, eight "circulate" clicks) must wait for
    # each other, not fail with "database is locked". WAL: readers never block the
    # writer. IMMEDIATE: a transaction takes the write lock when it begins, so two never
    # both read and then both want to write (SQLite would refuse one of them at once,
    # without waiting). timeout: how long, in seconds, a request waits for the lock.
    # synchronous=NORMAL is safe with WAL; a power cut may lose the last commits.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        "timeout": 20,
        **DATABASES["default"].get("OPTIONS", {}),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# The editor posts every row of the minutes at once, each field beside its loaded
# value: 60 items with 5 results each are about 9,000 fields and 1 MB.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100_000
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# Seconds one PDF render may take before it is stopped with a message (protokolle/pdf.py).
# The 60-item minutes take about 5 s. Archival copies are rendered by the task worker;
# a download before they exist renders in the request, under gunicorn's --timeout (120 s).
PDF_RENDER_TIMEOUT = float(os.environ.get("DJANGO_PDF_RENDER_TIMEOUT", "45"))

# The electronic seal of archived minutes (protokolle/seal.py): a PKCS#12 file and its
# password, or a key and a certificate file; optionally an RFC 3161 timestamp server.
# Without them (and DEBUG on) the demo seal that `manage.py demo_seal` creates is used.
PDF_SEAL_PKCS12 = os.environ.get("DJANGO_PDF_SEAL_PKCS12", "")
PDF_SEAL_PASSWORD = os.environ.get("DJANGO_PDF_SEAL_PASSWORD", "")
PDF_SEAL_KEY = os.environ.get("DJANGO_PDF_SEAL_KEY", "")
PDF_SEAL_CERT = os.environ.get("DJANGO_PDF_SEAL_CERT", "")
PDF_SEAL_KEY_PASSWORD = os.environ.get("DJANGO_PDF_SEAL_KEY_PASSWORD", "")
PDF_SEAL_TIMESTAMP_URL = os.environ.get("DJANGO_PDF_SEAL_TIMESTAMP_URL", "")
PDF_SEAL_DEMO_PATH = Path(
    os.environ.get("DJANGO_PDF_SEAL_DEMO_PATH", BASE_DIR / "var" / "demo-seal.p12")
)

# Background tasks (protokolle/jobs.py): archival PDFs and e-mails run outside the request.
# The database backend keeps the queue in our database; `manage.py db_worker` runs it
# (Makefile, README.md). Tests use the immediate backend (tests/conftest.py).
TASKS = {
    "default": {
        "BACKEND": os.environ.get(
            "DJANGO_TASKS_BACKEND", "django_tasks.backends.database.DatabaseBackend"
        )
    }
}
# Who is told when a background task failed for good (name:address, comma-separated).
ADMINS = [
    tuple(entry.split(":", 1)) if ":" in entry else (entry, entry)
    for entry in env_list("DJANGO_ADMINS", [])
]
SERVER_EMAIL = os.environ.get("DJANGO_SERVER_EMAIL", "protokolle@localhost")

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- security ---------------------------------------------------------------------------

# Login protection (django-axes): 5 failures for one user name from one address lock
# them out for an hour.
AXES_FAILURE_LIMIT = int(os.environ.get("DJANGO_AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("DJANGO_AXES_COOLOFF_HOURS", "1"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# How many reverse proxies of ours stand in front of the app (README.md, "Running in
# production"); the client's address is the entry the outermost one added to
# X-Forwarded-For (werkstatt/client_ip.py). 0: the socket's address; the header is
# ignored, since anyone can send it.
PROXY_COUNT = os.environ.get("DJANGO_PROXY_COUNT", "0").strip() or "0"
if not PROXY_COUNT.isdigit():
    raise ImproperlyConfigured(
        f"DJANGO_PROXY_COUNT must be the number of reverse proxies (0 or more), "
        f"not {PROXY_COUNT!r}."
    )
PROXY_COUNT = int(PROXY_COUNT)
# Lockouts count the client's address, not the proxy's. Not django-ipware: with its
# proxy_count it finds no address in nginx's one-entry header, and it prefers a public
# address anywhere in the chain over the client's private one.
AXES_CLIENT_IP_CALLABLE = "werkstatt.client_ip.client_ip"

SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_HOURS", "8")) * 3600
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    # The reverse proxy terminates TLS and says so in this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers ask over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

# Content-Security-Policy (django-csp): our own files only; no inline script or style
# anywhere, so an injected script never runs. The preview is framed by our own pages.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
        "frame-src": ["'self'"],
    }
}

LOGIN_URL = "login"  # django.contrib.auth.urls, under accounts/
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "protokolle@localhost")
# Where links in e-mails point to.
SITE_URL = os.environ.get("DJANGO_SITE_URL", "http://127.0.0.1:8000")

# OParl 1.1 (/oparl/v1/, protokolle/oparl.py): the installation is one OParl ``System``
# with one ``Body``; their name, website and contact, shown to every OParl client.
OPARL_SYSTEM_NAME = os.environ.get("DJANGO_OPARL_SYSTEM_NAME", "Werkstatt-Protokolle")
OPARL_BODY_NAME = os.environ.get("DJANGO_OPARL_BODY_NAME", "") or OPARL_SYSTEM_NAME
OPARL_WEBSITE = os.environ.get("DJANGO_OPARL_WEBSITE", "")
OPARL_CONTACT_NAME = os.environ.get("DJANGO_OPARL_CONTACT_NAME", "")
OPARL_CONTACT_EMAIL = os.environ.get("DJANGO_OPARL_CONTACT_EMAIL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # WeasyPrint reports every rendering step at INFO.
    "loggers": {
        "weasyprint.progress": {"level": "WARNING"},
        # django-axes reports every login attempt at INFO.
        "axes": {"level": "WARNING"},
    },
}
