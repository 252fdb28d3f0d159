"""Production settings can be made clean (issue 15, item 7): the README's production
environment passes `check --deploy` with no warning, yes/no settings are strict, signed-in
answers are private, the CSP forbids inline script, and data files are the owner's only."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase

from unstuck.core.services import api_token_create
from unstuck.core.testing import PersonasTestCase
from unstuck.imports.models import ImportRun
from unstuck.imports.tests.test_wizard import WizardBase
from unstuck.settings import env_bool

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "unstuck"


def _fresh_env(data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UNSTUCK_", "DATABASE_"))}
    # Not production's: the browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE.
    for name in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    env["UNSTUCK_DATA_DIR"] = data_dir
    return env


def _readme_production_exports() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Production", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the README's production section has no sh block"
    return "\n".join(line for line in block.group(1).splitlines() if line.startswith("export "))


class DeployCheckTests(SimpleTestCase):
    def test_the_readme_production_environment_passes_check_deploy_with_no_warning(self) -> None:
        exports = _readme_production_exports()
        self.assertIn("UNSTUCK_HSTS_SECONDS", exports)
        script = (
            f"{exports}\nexec {sys.executable} -m unstuck.cli check --deploy --fail-level WARNING"
        )
        done = subprocess.run(
            ["bash", "-c", script],
            env=_fresh_env(tempfile.mkdtemp(prefix="unstuck-deploy-")),
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("no issues", done.stdout + done.stderr)

    def test_without_those_settings_check_deploy_warns(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "unstuck.cli", "check", "--deploy", "--fail-level", "WARNING"],
            env=_fresh_env(tempfile.mkdtemp(prefix="unstuck-deploy-")),
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("security.W004", done.stdout + done.stderr)  # no HSTS


class EnvBoolTests(SimpleTestCase):
    def test_it_reads_the_documented_spellings(self) -> None:
        for value, expected in [
            ("true", True),
            ("TRUE", True),
            ("1", True),
            ("yes", True),
            ("on", True),
            ("false", False),
            ("0", False),
            ("No", False),
            ("off", False),
            ("", True),  # empty: the default
        ]:
            with self.subTest(value=value), mock.patch.dict(os.environ, {"X_FLAG": value}):
                self.assertEqual(env_bool("X_FLAG", True), expected)

    def test_it_refuses_anything_else_naming_the_variable(self) -> None:
        for value in ("enabled", "y", "2", "ture"):
            with (
                self.subTest(value=value),
                mock.patch.dict(os.environ, {"UNSTUCK_SECURE_COOKIES": value}),
                self.assertRaisesMessage(ImproperlyConfigured, "UNSTUCK_SECURE_COOKIES"),
            ):
                env_bool("UNSTUCK_SECURE_COOKIES", False)


class HeadersTests(PersonasTestCase):
    def test_signed_in_pages_and_api_answers_are_private_and_not_stored(self) -> None:
        self.client.force_login(self.rep_a)
        page = self.client.get("/w/acme/deals/")
        self.assertIn("private", page["Cache-Control"])
        self.assertIn("no-store", page["Cache-Control"])
        self.client.logout()
        secret = api_token_create(user=self.rep_a, name="t")[1]
        answer = self.client.get(
            "/api/v1/workspaces/acme/deals", headers={"Authorization": f"Bearer {secret}"}
        )
        self.assertIn("private", answer["Cache-Control"])

    def test_pages_carry_a_policy_that_allows_only_our_own_scripts(self) -> None:
        self.client.force_login(self.rep_a)
        policy = self.client.get("/w/acme/deals/")["Content-Security-Policy"]
        self.assertIn("script-src 'self'", policy)
        self.assertNotIn("unsafe-inline", policy.split("script-src", 1)[1].split(";")[0])
        self.assertIn("frame-ancestors 'none'", policy)


class NoInlineScriptTests(SimpleTestCase):
    def test_no_template_has_inline_script_or_event_handlers(self) -> None:
        # Inline scripts, handlers, javascript: links, and htmx features that need eval:
        # hx-on, js: values and trigger filters ([expressions], unlike from:input[name=q]).
        pattern = re.compile(
            r"<script(?![^>]*\bsrc=)|\son[a-z]+=|hx-on|javascript:|js:"
            r"|hx-trigger=\"[^\"]*\[[^\]]*[!&().]",
            re.I,
        )
        offenders = [
            str(path.relative_to(PACKAGE))
            for path in PACKAGE.rglob("*.html")
            if pattern.search(path.read_text())
        ]
        self.assertEqual(offenders, [], "the CSP would block these: use unstuck.js instead")


class PrivateFilesTests(WizardBase):
    def test_the_data_directory_database_and_secret_key_are_the_owners_only(self) -> None:
        data = Path(tempfile.mkdtemp(prefix="unstuck-perms-")) / "data"
        done = subprocess.run(
            [sys.executable, "-m", "unstuck.cli", "check"],
            env=_fresh_env(str(data)),
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(stat.S_IMODE(data.stat().st_mode), 0o700)
        self.assertEqual(stat.S_IMODE((data / "unstuck.sqlite3").stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE((data / "secret_key").stat().st_mode), 0o600)

    def test_uploaded_files_are_the_owners_only(self) -> None:
        self.upload("deals.csv", b"Deal ID,Title,Stage\nD1,One,Open\n")
        stored = Path(ImportRun.objects.latest("pk").files[0]["path"])
        self.assertEqual(stat.S_IMODE(stored.stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(stored.parent.stat().st_mode), 0o700)
