"""The `unstuck` command: Unstuck's own commands first, and every Django command besides."""

from __future__ import annotations

import importlib
import os
import sys

OWN_COMMANDS = [
    ("demo", "Create the SQLite database, load the demo workspace and serve it on :8000."),
    ("serve", "Serve Unstuck in production on gunicorn."),
    ("worker", "Run background tasks (imports, recomputations)."),
    ("migrate", "Create or update the database tables."),
    ("workspace", "Create workspaces: workspace create --name NAME [--slug SLUG]."),
    ("user", "Add people: user add --workspace SLUG --email E --role ROLE [--team T]."),
    (
        "bias scan",
        'Flag biases in JSON lines {"id": .., "text": ..} from stdin, one line out each.',
    ),
    ("bias check", 'Check one statement for the six biases: bias check "some text".'),
    (
        "import",
        "Import a CRM export: import salesforce|hubspot|csv --workspace SLUG … "
        "[--skip-invalid]. Exit 2 when rows were rejected.",
    ),
    (
        "imports cleanup",
        "Delete stored upload files of imports finished over 30 days ago: "
        "imports cleanup [--older-than DAYS] [--dry-run].",
    ),
    ("diagnose", "Stuck deals with score and signals: diagnose [--as-of DATE] [--format json]."),
    ("investigate", "Recompute benchmarks, stall scores and the queue (nightly from cron)."),
    ("model", "Win-probability model: model train|evaluate --workspace SLUG."),
    (
        "insights",
        "Time split and what innovation changed: insights effectiveness --workspace SLUG "
        "[--manager EMAIL] [--format json]; insights recompute --all (nightly).",
    ),
    (
        "digest",
        "Weekly digest: digest send [--workspace SLUG] [--now] [--dry-run] (hourly from cron; "
        "once per person and week); digest preview --user EMAIL.",
    ),
    (
        "news",
        "News filtered downward: news list|post|relay --workspace SLUG --as EMAIL ….",
    ),
    ("bench", "The cross-functional bench: bench list; bench ask --as EMAIL --deal ID …."),
    (
        "plays",
        "The playbook: plays list [--q WORDS] [--due] | plays show --play ID (its measured "
        "outcome) | plays apply --play ID --deal EXTERNAL_ID --by EMAIL.",
    ),
    (
        "options suggest",
        "Options for a stuck deal: options suggest --workspace SLUG --deal ID [--format json].",
    ),
]

HELP = """\
usage: unstuck <command> [options]

Unstuck: get stuck B2B deals moving again. Run `unstuck <command> --help` for a command's options.

Commands:
{own}

Every command that acts on a workspace's data takes --workspace SLUG (the demo's is `demo`).
Django's own commands work too: unstuck shell, unstuck dbshell, unstuck createsuperuser,
unstuck check --deploy, … (`unstuck help --all` lists them).

Environment: DATABASE_URL (default: SQLite in the data directory), UNSTUCK_DATA_DIR
(default ./unstuck-data); the README lists every setting.
"""


# Commands that need neither the database nor the app registry run without Django at all
# (no settings, no django.setup(), which imports every app and was most of a one-off command's
# start-up): module.main(arguments after the command's name).
STANDALONE = {"bias": "unstuck.thinking.bias_cli"}
# Commands that serve or check the site keep every system check; the others skip the URL
# checks, which import every view and the whole API (about 0.6 s of CPU) for nothing.
URL_CHECKED = {"check", "runserver", "serve", "demo", "testserver"}


def _take_data_dir(argv: list[str]) -> list[str]:
    """Honour --data-dir before Django reads its settings, since the database lives there."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--data-dir":
            value = next(args, None)
            if value is None:
                sys.exit("unstuck: --data-dir needs a directory")
            os.environ["UNSTUCK_DATA_DIR"] = value
        elif arg.startswith("--data-dir="):
            os.environ["UNSTUCK_DATA_DIR"] = arg.split("=", 1)[1]
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> None:
    try:
        _main(argv)
        # Flush here, inside the try: output still buffered at exit would otherwise hit a
        # closed pipe during interpreter shutdown and print "Exception ignored …".
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`unstuck diagnose | head`): stop quietly, as other Unix tools
        # do. Point stdout at /dev/null so the final flush at exit cannot raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)  # 128 + SIGPIPE, what a shell reports for a tool killed by the pipe


def _main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] in {"-h", "--help", "help"} and len(args) == 1):
        width = max(len(name) for name, _ in OWN_COMMANDS)
        own = "\n".join(f"  {name.ljust(width)}  {text}" for name, text in OWN_COMMANDS)
        print(HELP.format(own=own))
        return
    if args[:2] == ["help", "--all"]:
        args = ["help"]
    if args[0] == "demo":
        args = ["demo", *_take_data_dir(args[1:])]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unstuck.settings")
    if args[0] in STANDALONE and not any(
        a.startswith(("--settings", "--pythonpath")) for a in args
    ):
        importlib.import_module(STANDALONE[args[0]]).main(args[1:])
        return
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    if args[0] not in URL_CHECKED:
        _skip_url_checks()
    try:
        execute_from_command_line(["unstuck", *args])
    except (DatabaseError, ImproperlyConfigured) as exc:
        # One clear line instead of a long traceback; --traceback still shows it.
        if "--traceback" in args:
            raise
        sys.exit(f"unstuck: {problem_line(exc)}")


def problem_line(exc: BaseException) -> str:
    """What went wrong with the database or the settings, in one line for a person."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "locked" in first.lower():
        return (
            "the database is busy: another process (an import, or the demo's worker) is "
            "writing to it. Try again in a moment."
        )
    if type(exc).__name__ == "ImproperlyConfigured":
        return f"a setting is wrong: {first}"
    return (
        f"the database cannot be used ({first}). Check DATABASE_URL and that the database "
        "server is running; add --traceback for details."
    )


def _skip_url_checks() -> None:
    """Run every system check but the URL ones, for commands that inherit Django's default."""
    from django.core.checks import Tags
    from django.core.management.base import BaseCommand

    tags = [v for k, v in vars(Tags).items() if not k.startswith("_") and v != Tags.urls]
    if BaseCommand.requires_system_checks == "__all__":
        BaseCommand.requires_system_checks = tags


if __name__ == "__main__":
    main()
