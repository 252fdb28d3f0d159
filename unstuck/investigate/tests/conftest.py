"""The root conftest sets UNSTUCK_PLAIN_STATIC after pytest-django has already read the
settings, so pages rendered in tests would look for a collectstatic manifest. Storages are
built lazily, so switching the backend here (before any page renders) is enough."""

from django.conf import settings

settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
