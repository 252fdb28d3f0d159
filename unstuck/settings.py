"""Unstuck's one settings module: every value comes from the environment, with safe defaults.

The README's settings table lists each variable; keep the two in step.
"""

from __future__ import annotations

import os
import warnings
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(key)
        key_file.chmod(0o600)
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
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'unstuck.sqlite3'}",
        conn_max_age=int(os.environ.get("UNSTUCK_DB_CONN_MAX_AGE", "60")),
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
EMAIL_PORT = int(os.environ.get("UNSTUCK_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("UNSTUCK_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("UNSTUCK_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("UNSTUCK_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("UNSTUCK_FROM_EMAIL", "Unstuck <unstuck@localhost>")

# Rows per page on list pages; the pipeline benchmark measures the default.
UNSTUCK_PAGE_SIZE = int(os.environ.get("UNSTUCK_PAGE_SIZE", "50"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("UNSTUCK_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
