"""Unstuck's one settings module: every value comes from the environment, with safe defaults.

The README's settings table lists each variable; keep the two in step.
"""

from __future__ import annotations

import os
import warnings
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from unstuck.core.private import private_dir, private_file

BASE_DIR = Path(__file__).resolve().parent


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def env_bool(name: str, default: bool) -> bool:
    """A yes/no setting: true/false, 1/0, yes/no or on/off (any case); unset or empty means
    the default. Anything else stops the start-up, so a typo is never silently "off"."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={os.environ[name]!r} is not a yes/no value: use true or false "
        "(1/0, yes/no and on/off work too)."
    )


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("UNSTUCK_DATA_DIR", "unstuck-data")).expanduser().resolve()


def _secret_key() -> str:
    """An explicit key wins; otherwise one is generated once and kept in the data directory."""
    if key := os.environ.get("UNSTUCK_SECRET_KEY"):
        return key
    key_file = DATA_DIR / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        pass
    key = get_random_secret_key()
    try:
        private_file(private_dir(DATA_DIR) / "secret_key")
        key_file.write_text(key)
    except OSError:
        # A read-only data directory still runs; sessions just won't survive a restart.
        pass
    return key


DEBUG = env_bool("UNSTUCK_DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("UNSTUCK_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("UNSTUCK_CSRF_TRUSTED_ORIGINS", "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("UNSTUCK_BEHIND_HTTPS_PROXY", False) else None
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("UNSTUCK_SECURE_COOKIES", False)
# HTTPS: redirect plain HTTP (the proxy must send X-Forwarded-Proto, see above) and tell
# browsers to use HTTPS only, for UNSTUCK_HSTS_SECONDS (0: no header).
SECURE_SSL_REDIRECT = env_bool("UNSTUCK_HTTPS_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("UNSTUCK_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("UNSTUCK_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("UNSTUCK_HSTS_PRELOAD", False)
# /healthz and /readyz answer load balancers probing over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "unstuck.core",
    "unstuck.deals",
    "unstuck.thinking",
    "unstuck.imports",
    "unstuck.demo",
    "unstuck.investigate",
    "unstuck.cocreate",
    "unstuck.share",
    "unstuck.insights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "unstuck.core.middleware.ErrorsMiddleware",
    "unstuck.core.middleware.RefuseBadInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "unstuck.core.middleware.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into the sign-in page's message.
    "axes.middleware.AxesMiddleware",
]

# Content-Security-Policy (django-csp): scripts only from our own static files (htmx comes
# from django-htmx, no inline script or handler anywhere); inline style attributes allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if env_bool("UNSTUCK_CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = CONTENT_SECURITY_POLICY
    CONTENT_SECURITY_POLICY = {}

# Sign-in throttling (django-axes): after UNSTUCK_SIGNIN_ATTEMPTS wrong passwords for one
# account from one address, that pair is refused for UNSTUCK_SIGNIN_LOCKOUT_MINUTES; a
# successful sign-in resets the count.
AUTHENTICATION_BACKENDS = [
    "unstuck.core.auth.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("UNSTUCK_SIGNIN_ATTEMPTS", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("UNSTUCK_SIGNIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "unstuck.core.auth.locked_out"
AXES_USERNAME_FORM_FIELD = "username"
AXES_IPWARE_PROXY_COUNT = 1 if env_bool("UNSTUCK_BEHIND_HTTPS_PROXY", False) else 0
AXES_VERBOSE = False

ROOT_URLCONF = "unstuck.urls"
WSGI_APPLICATION = "unstuck.wsgi.application"

# django-ninja is not an installed app: its API docs page only needs its templates and static
# files, found here by path, and as an app it was imported (with pydantic) by every command at
# start-up, about half a second before anything ran.
_ninja_spec = find_spec("ninja")
NINJA_DIR = Path(_ninja_spec.origin).parent if _ninja_spec and _ninja_spec.origin else BASE_DIR

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", NINJA_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "unstuck.core.context_processors.workspace",
                "unstuck.investigate.context_processors.requests",
            ],
        },
    },
]

_database_url = os.environ.get("DATABASE_URL", "")
if not _database_url:
    # The embedded default: created readable by its owner only, before SQLite opens it.
    _database_url = f"sqlite:///{private_file(private_dir(DATA_DIR) / 'unstuck.sqlite3')}"
DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        conn_max_age=env_int("UNSTUCK_DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the task worker writes.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }

# One cache every process shares (a draft's remembered bias notes must reach whichever web
# process handles the save): a table in the app's own database by default, so the embedded
# setup needs no other service (migrate creates it), or Redis when UNSTUCK_REDIS_URL is set.
CACHE_TABLE = "unstuck_cache"
_redis_url = os.environ.get("UNSTUCK_REDIS_URL", "").strip()
if _redis_url:
    if find_spec("redis") is None:
        raise ImproperlyConfigured(
            "UNSTUCK_REDIS_URL is set but the redis package is not installed: "
            "`uv pip install redis`, or unset UNSTUCK_REDIS_URL to use the database."
        )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
            "KEY_PREFIX": "unstuck",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("UNSTUCK_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static", NINJA_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files once `unstuck serve` has collected them; until then (the
        # demo, tests) files are served straight from the source tree.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and (STATIC_ROOT / "staticfiles.json").exists()
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"
# Uploaded CRM exports hold customer data: readable by the server's user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Serve files straight from the apps' static folders, so `unstuck demo` needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Before the first collectstatic there is no STATIC_ROOT yet, and that is fine.
warnings.filterwarnings("ignore", message="No directory at")

TASKS = {
    "default": {
        "BACKEND": os.environ.get("UNSTUCK_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

EMAIL_BACKEND = os.environ.get(
    "UNSTUCK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("UNSTUCK_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("UNSTUCK_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("UNSTUCK_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("UNSTUCK_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("UNSTUCK_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("UNSTUCK_FROM_EMAIL", "Unstuck <unstuck@localhost>")


def _site_url(value: str) -> str:
    """Where people reach Unstuck: links in emails are built on it, since a mail client
    cannot open a relative link."""
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")) or "/" in value.split("://", 1)[1]:
        raise ImproperlyConfigured(
            f"UNSTUCK_SITE_URL={value!r} must be an origin such as https://unstuck.example.com "
            "(scheme and host, optional port, no path)."
        )
    return value


# The demo's address by default; `unstuck demo --host/--port` uses its own when unset.
SITE_URL = _site_url(os.environ.get("UNSTUCK_SITE_URL", "http://127.0.0.1:8000"))
# How long an invitation or a password-reset link works (Django's setting, in seconds).
PASSWORD_RESET_TIMEOUT = env_int("UNSTUCK_INVITE_HOURS", 72) * 3600

# Rows per page on list pages; the pipeline benchmark measures the default.
UNSTUCK_PAGE_SIZE = env_int("UNSTUCK_PAGE_SIZE", 50)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("UNSTUCK_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
