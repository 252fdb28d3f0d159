"""A pytest plugin (loaded with -p before Django starts) that keeps tests out of real data.

Tests get a throwaway data directory and a fixed secret key, so running the suite never
writes into ./unstuck-data.

Tests marked `shared_data` read the public data sets kept beside the repository
(../shared/data, or UNSTUCK_SHARED_DATA). A fresh clone has none, so they are skipped with
the reason; CI sets UNSTUCK_REQUIRE_SHARED_DATA=1, which turns that skip into a failure.
"""

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("UNSTUCK_SECRET_KEY", "tests-only-not-secret")
os.environ["UNSTUCK_DATA_DIR"] = tempfile.mkdtemp(prefix="unstuck-tests-")

REPO = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """Where the shared data sets live: UNSTUCK_SHARED_DATA, else ../shared/data."""
    configured = os.environ.get("UNSTUCK_SHARED_DATA")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


def shared_data_required() -> bool:
    value = os.environ.get("UNSTUCK_REQUIRE_SHARED_DATA", "").strip().lower()
    if value not in {"", "0", "1", "true", "false"}:
        raise pytest.UsageError(f"UNSTUCK_REQUIRE_SHARED_DATA must be 1 or 0, not {value!r}")
    return value in {"1", "true"}


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Passwords hashed with Django's fast test hasher (its own advice for test suites):
    the production PBKDF2 hasher's million iterations took 0.35 s a user, about 3 s of every
    test class that sets up its personas. Production settings are untouched."""
    from django.conf import settings
    from django.test import override_settings

    if not settings.configured:
        return
    # Enabled for the whole session (its setting_changed signal clears the hashers' caches).
    override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]).enable()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("shared_data") is None:
        return
    folder = shared_data_dir()
    if folder.is_dir():
        return
    why = f"needs the shared data sets in {folder} (absent; set UNSTUCK_SHARED_DATA)"
    if shared_data_required():
        pytest.fail(f"UNSTUCK_REQUIRE_SHARED_DATA=1 but this test {why}", pytrace=False)
    pytest.skip(why)
