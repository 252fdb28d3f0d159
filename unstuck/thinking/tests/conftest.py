import pytest


@pytest.fixture(autouse=True)
def _plain_static_files(settings: pytest.FixtureRequest) -> None:
    """Pages render without collectstatic's manifest, whatever the environment says.

    The root conftest's UNSTUCK_PLAIN_STATIC comes too late for pytest-django, which reads the
    settings before conftest files are imported.
    """
    settings.STORAGES = {  # type: ignore[attr-defined]
        **settings.STORAGES,  # type: ignore[attr-defined]
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
