from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stdout
from unittest import mock

from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import TestCase

from unstuck.cli import main
from unstuck.core.models import Membership, Team, Workspace
from unstuck.investigate.models import DealAssessment


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
        demo = Workspace.objects.get(slug="demo")
        self.assertEqual(demo.deals.count(), 60)
        # Scored as it is built: the first visit finds a ranked queue, not "0 of 0 open".
        self.assertEqual(
            DealAssessment.objects.filter(workspace=demo).count(),
            demo.deals.filter(stage__kind="open").count(),
        )
        self.assertIn("open deals scored", out)
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
print("django-imported", "django" in sys.modules)
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
loaded = []
for module, loader in [
    ("unstuck.thinking.detector.core", "classifier"),
    ("unstuck.thinking.detector.features", "embedding_model"),
    ("unstuck.thinking.detector.encoder", "minilm"),
]:
    if module in sys.modules and getattr(sys.modules[module], loader).cache_info().currsize:
        loaded.append(loader)
print("bias-models-loaded", loaded)
"""


class StartUpTests(TestCase):
    def probe(self, code: str) -> list[str]:
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        return result.stdout.splitlines()

    def test_bias_check_answers_without_loading_django_the_apps_or_the_api(self) -> None:
        lines = self.probe(BIAS_CHECK_PROBE)
        self.assertTrue(any(line.startswith("Legacy bias") for line in lines), lines)
        self.assertIn("django-imported False", lines)
        self.assertIn("ninja-imported False", lines)
        self.assertIn("urls-imported False", lines)

    def test_commands_that_do_not_serve_the_site_skip_the_url_checks_and_the_bias_model(
        self,
    ) -> None:
        lines = self.probe(URL_CHECK_PROBE)
        self.assertTrue(any("swagger-ui.css" in line for line in lines), lines)
        self.assertIn("urls-imported False", lines)
        self.assertIn("bias-models-loaded []", lines)


# Imports the WSGI module as gunicorn's master does with --preload, then reports whether the
# URLs (views, API) were loaded before any request and whether a database connection was
# opened (a connection made before the fork would be shared by every worker).
WSGI_PRELOAD_PROBE = """
import sys
import unstuck.wsgi
from django.db import connections
print("urls-imported", "unstuck.urls" in sys.modules and "unstuck.api" in sys.modules)
print("connections-open", [c.alias for c in connections.all() if c.connection is not None])
"""


class ServeTests(TestCase):
    def test_serve_preloads_the_app_in_gunicorns_master(self) -> None:
        with (
            mock.patch("unstuck.core.management.commands.serve.call_command") as collect,
            mock.patch("os.execv") as execv,
        ):
            run("serve", "--bind", "127.0.0.1:8123", "--workers", "2", "--threads", "1")
        collect.assert_called_once_with("collectstatic", interactive=False, verbosity=0)
        argv = execv.call_args.args[1]
        self.assertEqual(argv[1:4], ["-m", "gunicorn", "unstuck.wsgi:application"])
        self.assertIn("--preload", argv)
        self.assertEqual(argv[argv.index("--workers") + 1], "2")
        self.assertEqual(argv[argv.index("--bind") + 1], "127.0.0.1:8123")

    def test_the_wsgi_module_loads_the_urls_without_touching_the_database(self) -> None:
        result = subprocess.run(
            [sys.executable, "-c", WSGI_PRELOAD_PROBE], capture_output=True, text=True, check=True
        )
        lines = result.stdout.splitlines()
        self.assertIn("urls-imported True", lines)
        self.assertIn("connections-open []", lines)


class UserAddPasswordTests(TestCase):
    """`unstuck user add` runs Django's password validators, and without a terminal reads the
    password from a pipe or prints an invitation link, never an EOFError (issue 15, item 6)."""

    ADD = ("user", "add", "--workspace", "a", "--email", "kim@example.test", "--role", "rep")

    def setUp(self) -> None:
        run("workspace", "create", "--name", "A", "--slug", "a")

    def test_a_weak_password_is_refused_with_the_validators_message(self) -> None:
        with self.assertRaisesMessage(CommandError, "This password is too short"):
            run(*self.ADD, "--password", "x")
        self.assertFalse(Membership.objects.filter(user__email="kim@example.test").exists())

    def test_a_piped_password_is_read_from_stdin_and_validated(self) -> None:
        with mock.patch("sys.stdin", io.StringIO("a-long-piped-passphrase\n")):
            run(*self.ADD)
        self.assertIsNotNone(
            authenticate(username="kim@example.test", password="a-long-piped-passphrase")
        )

    def test_without_a_terminal_or_a_pipe_it_prints_an_invitation_link(self) -> None:
        with mock.patch("sys.stdin", io.StringIO("")):
            out = run(*self.ADD)
        self.assertIn("http://127.0.0.1:8000/invite/", out)
        membership = Membership.objects.get(user__email="kim@example.test")
        self.assertFalse(membership.user.has_usable_password())

    def test_a_terminal_that_ends_input_is_a_clear_error_not_a_traceback(self) -> None:
        terminal = mock.Mock(closed=False, isatty=lambda: True)
        with (
            mock.patch("sys.stdin", terminal),
            mock.patch("getpass.getpass", side_effect=EOFError),
            self.assertRaisesMessage(CommandError, "No password given; nothing was added."),
        ):
            run(*self.ADD)


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
