from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout

from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import TestCase

from unstuck.cli import main
from unstuck.core.models import Membership, Team, Workspace


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


class WorkspaceAndUserCommandTests(TestCase):
    def test_workspace_create_then_user_add_gives_a_working_login(self) -> None:
        out = run("workspace", "create", "--name", "Initech Sales", "--slug", "initech")
        self.assertIn("slug: initech", out)
        out = run(
            "user",
            "add",
            "--workspace",
            "initech",
            "--email",
            "Bill@Initech.test",
            "--role",
            "manager",
            "--team",
            "Enterprise",
            "--password",
            "s3cret-pass!",
        )
        self.assertIn("as manager", out)
        team = Team.objects.get(workspace__slug="initech", name="Enterprise")
        self.assertEqual(team.manager.email, "bill@initech.test")  # type: ignore[union-attr]
        self.assertIsNotNone(authenticate(username="bill@initech.test", password="s3cret-pass!"))
        run(
            "user",
            "add",
            "--workspace",
            "initech",
            "--email",
            "peter@initech.test",
            "--role",
            "rep",
            "--team",
            "Enterprise",
            "--no-password",
        )
        rep = Membership.objects.get(user__email="peter@initech.test")
        self.assertEqual(rep.team, team)

    def test_the_slug_defaults_from_the_name(self) -> None:
        run("workspace", "create", "--name", "Dunder Mifflin Paper")
        self.assertTrue(Workspace.objects.filter(slug="dunder-mifflin-paper").exists())

    def test_errors_say_what_is_wrong(self) -> None:
        run("workspace", "create", "--name", "A", "--slug", "a")
        with self.assertRaisesMessage(CommandError, "already exists"):
            run("workspace", "create", "--name", "A again", "--slug", "a")
        with self.assertRaisesMessage(CommandError, "No workspace 'nope'"):
            run(
                "user",
                "add",
                "--workspace",
                "nope",
                "--email",
                "x@example.test",
                "--role",
                "rep",
                "--no-password",
            )
        with self.assertRaisesMessage(CommandError, "Only reps and managers belong to a team"):
            run(
                "user",
                "add",
                "--workspace",
                "a",
                "--email",
                "x@example.test",
                "--role",
                "leader",
                "--team",
                "T",
                "--no-password",
            )
        run(
            "user",
            "add",
            "--workspace",
            "a",
            "--email",
            "x@example.test",
            "--role",
            "rep",
            "--no-password",
        )
        with self.assertRaisesMessage(CommandError, "already a member"):
            run(
                "user",
                "add",
                "--workspace",
                "a",
                "--email",
                "X@example.test",
                "--role",
                "rep",
                "--no-password",
            )

    def test_demo_without_serving_loads_the_demo_once(self) -> None:
        out = run("demo", "--no-serve", "--deals", "60")
        self.assertIn("manager@demo.example", out)
        self.assertEqual(Workspace.objects.get(slug="demo").deals.count(), 60)
        out = run("demo", "--no-serve", "--deals", "60")
        self.assertIn("already there", out)
        self.assertEqual(Workspace.objects.get(slug="demo").deals.count(), 60)


class TopLevelHelpTests(TestCase):
    def test_unstuck_help_lists_our_commands(self) -> None:
        out = io.StringIO()
        with redirect_stdout(out):
            main(["--help"])
        for command in ["demo", "serve", "worker", "migrate", "workspace", "user"]:
            self.assertIn(f"  {command}", out.getvalue())

    def test_the_console_script_runs_django_commands_with_real_help(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "unstuck.cli", "demo", "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        for option in ["--host", "--port", "--data-dir"]:
            self.assertIn(option, result.stdout)


# Runs `unstuck bias check` in a fresh interpreter, then reports what it had to load.
BIAS_CHECK_PROBE = """
import sys
from unstuck.cli import main
main(["bias", "check", "We've always sold it this way. Not changing for them."])
from django.apps import apps
print("apps-ready", apps.ready)
print("ninja-imported", "ninja" in sys.modules)
print("urls-imported", "unstuck.urls" in sys.modules)
"""

# Runs a command that does not serve the site (and needs no database), then reports whether
# the URLs were loaded. The file it looks for is the API docs' own copy of Swagger UI.
URL_CHECK_PROBE = """
import sys
from unstuck.cli import main
main(["findstatic", "ninja/swagger-ui.css"])
print("urls-imported", "unstuck.urls" in sys.modules)
"""


class StartUpTests(TestCase):
    def probe(self, code: str) -> list[str]:
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        return result.stdout.splitlines()

    def test_bias_check_answers_without_loading_the_apps_or_the_api(self) -> None:
        lines = self.probe(BIAS_CHECK_PROBE)
        self.assertTrue(any(line.startswith("Legacy bias") for line in lines), lines)
        self.assertIn("apps-ready False", lines)
        self.assertIn("ninja-imported False", lines)
        self.assertIn("urls-imported False", lines)

    def test_commands_that_do_not_serve_the_site_skip_the_url_checks(self) -> None:
        lines = self.probe(URL_CHECK_PROBE)
        self.assertTrue(any("swagger-ui.css" in line for line in lines), lines)
        self.assertIn("urls-imported False", lines)


# A command whose reader goes away after one line, as in `unstuck diagnose | head -1`.
PIPE_PROBE = """
import sys
from unittest import mock
from unstuck.cli import main

def spew(argv):
    for i in range(200_000):
        sys.stdout.write(f"deal {i}\\n")

with mock.patch("django.core.management.execute_from_command_line", spew):
    main(["diagnose"])
"""


class ClosedPipeTests(TestCase):
    def test_a_reader_that_stops_early_gets_no_traceback(self) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-c", PIPE_PROBE],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        self.assertEqual(proc.stdout.readline(), b"deal 0\n")
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        self.assertEqual(proc.wait(timeout=60), 141)
        self.assertEqual(stderr, "")
