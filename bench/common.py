"""What every bench shares, so that their figures are fair and comparable.

- **A run of its own.** `BenchRun` gives each run a database (PostgreSQL) or data folder
  (SQLite) named `<prefix>_<bench>_<pid>_<random>` and a temporary folder of the same name,
  and removes both when the run ends, however it ends (an exception, Ctrl-C, SIGTERM). Runs
  that died harder (kill -9) are swept by the next run with the same prefix: their process
  is gone. The prefix is `BENCH_PREFIX` (default `unstuck_bench`); the PostgreSQL server is
  `BENCH_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`, the maintenance
  database). `--template` (queue and load benches) starts from a copy of a database prepared
  earlier by the same generator and seed instead of generating one (the recompute at 100,000
  deals takes minutes on a busy machine).
- **A signed-in reference.** Pages are compared with `/w/<slug>/ping/`, the smallest
  signed-in page (session, sign-in, membership, the base layout), timed in the same run by
  the same person, not with `/healthz` (no session, no database, no template).
- **Honest timings.** Each case: the first (cold) request, a warm-up, then N timed requests:
  median, p95 and max, the median CPU time of this process (what a busy machine disturbs
  least), the queries of one request and the peak RSS of the process so far.
- **Fresh statistics where the app would have them.** `analyze()` after bulk-generated data
  (autovacuum would have analysed it by the time anyone looks); not after the app's own
  writes, whose statistics are the app's business.
- **A verdict per target.** `verdict()` prints `PASS`/`FAIL` with the reference, the figure
  and the ratio; `summary()` repeats them at the end with the machine's load.

A bench uses it like this (see queue_bench.py):

    with BenchRun("queue", db="postgres") as run:       # database, folders, Django set up
        ...generate data...; run.analyze()
        pages = PageTimer(run, repeats=30)
        ref = pages.reference("manager@demo.example", "demo")
        t = pages.time("queue, manager", "manager@demo.example", "/w/demo/investigate/")
        verdict("queue p95", t.p95, under=150, reference=ref.median, ratio=t.median / ref.median,
                ratio_under=3)
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PREFIX = re.sub(r"[^a-z0-9_]", "_", os.environ.get("BENCH_PREFIX", "unstuck_bench").lower())
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


# --- the machine -----------------------------------------------------------------------------


def machine() -> str:
    """Cores and load average, printed beside every figure (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.2f} {five:.2f} {fifteen:.2f}"


def peak_rss_mb(children: bool = False) -> float:
    """The largest resident set this process (or its largest child) has had, in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


# --- verdicts --------------------------------------------------------------------------------

_VERDICTS: list[str] = []


def verdict(
    label: str,
    figure: float,
    *,
    under: float | None = None,
    unit: str = "ms",
    reference: float | None = None,
    reference_label: str = "reference",
    ratio_under: float | None = None,
    ratio: float | None = None,
    note: str = "",
) -> bool:
    """Print one PASS/FAIL line: the figure against its target, and, with a reference, the
    ratio figure/reference against ratio_under (or the ratio given, e.g. of medians)."""
    ok = True
    parts = [f"{label}: {figure:,.1f} {unit}"]
    if under is not None:
        ok = ok and figure < under
        parts.append(f"(target < {under:,.0f} {unit})")
    if reference is not None:
        r = ratio if ratio is not None else (figure / reference if reference else math.inf)
        parts.append(f"; {reference_label} {reference:,.1f} {unit}, ratio {r:.1f}x")
        if ratio_under is not None:
            ok = ok and r < ratio_under
            parts.append(f"(target < {ratio_under:g}x)")
    if note:
        parts.append(f"; {note}")
    line = f"{'PASS' if ok else 'FAIL'}  " + " ".join(parts).replace(" ;", ";")
    print(line, flush=True)
    _VERDICTS.append(line)
    return ok


def summary(title: str = "") -> None:
    """The verdicts of this process again, together, with the load now."""
    if not _VERDICTS:
        return
    print(f"\n== verdicts{f' · {title}' if title else ''} · {machine()}")
    for line in _VERDICTS:
        print(f"   {line}")
    sys.stdout.flush()


# --- timings ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): a value that was actually measured."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Timing:
    label: str
    samples: list[float]  # ms, the timed requests (after the warm-up)
    first: float  # ms, the first request of the case (cold)
    queries: int = 0
    rss_mb: float = 0.0
    # ms of CPU this process spent per timed call (not the database's on PostgreSQL): the
    # figure a busy machine disturbs least.
    cpu: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    @property
    def max(self) -> float:
        return max(self.samples)

    def line(self, reference: Timing | None = None) -> str:
        ratio = f"  {self.median / reference.median:5.1f}x ref" if reference else ""
        cpu = f"  cpu {statistics.median(self.cpu):6.1f}" if self.cpu else ""
        return (
            f"  {self.label:<36} first {self.first:7.1f}  median {self.median:7.1f}  "
            f"p95 {self.p95:7.1f}  max {self.max:7.1f}{cpu} ms{ratio}  {self.queries:3d} "
            f"queries  peak RSS {self.rss_mb:5.0f} MB"
        )


def time_calls(label: str, call: Callable[[], Any], *, repeats: int, warmup: int = 3) -> Timing:
    """First call, warm-up calls, then timed calls of any callable (a service, a query)."""
    t0 = time.perf_counter()
    call()
    first = (time.perf_counter() - t0) * 1000
    for _ in range(warmup):
        call()
    samples, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return Timing(label, samples, first, rss_mb=peak_rss_mb(), cpu=cpu)


# --- a run of its own ------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _name_pid(name: str) -> int | None:
    match = re.fullmatch(rf"{re.escape(PREFIX)}[_-][a-z0-9]+[_-](\d+)[_-].*", name)
    return int(match.group(1)) if match else None


def sweep_leftovers() -> None:
    """Remove databases and temp folders of earlier runs with this prefix whose process is
    gone (a run killed with -9 cannot clean up after itself)."""
    tmp = Path(tempfile.gettempdir())
    for path in tmp.glob(f"{PREFIX}-*"):
        pid = _name_pid(path.name)
        if pid is not None and not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
            names = [
                r[0]
                for r in admin.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s",
                    [PREFIX.replace("_", "\\_") + "\\_%"],
                )
            ]
            for name in names:
                pid = _name_pid(name)
                if pid is not None and not _alive(pid):
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class BenchRun:
    """One bench on one backend in this process: its own database and folders, Django set up
    on them, both removed at the end. Settings are per process: run each backend in a child
    (see `per_backend`)."""

    def __init__(
        self, bench: str, *, db: str, keep: bool = False, template: str | None = None
    ) -> None:
        """template: start from a copy of a database prepared earlier (a PostgreSQL database
        name, or an SQLite file) instead of an empty one; migrations still run on the copy."""
        assert db in ("sqlite", "postgres"), db
        self.bench, self.db, self.keep, self.template = bench, db, keep, template
        self.name = f"{PREFIX}_{bench}_{os.getpid()}_{secrets.token_hex(3)}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-{bench}-{os.getpid()}-"))
        self.data_dir = self.tmp / "data"
        self._closed = False

    @property
    def pg_url(self) -> str:
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        return f"{base}/{self.name}"

    def env(self) -> dict[str, str]:
        """The environment a child process (the CLI, a server) needs to use this run's data."""
        env = {
            "UNSTUCK_DATA_DIR": str(self.data_dir),
            "UNSTUCK_SECRET_KEY": "bench",
            "DJANGO_SETTINGS_MODULE": "unstuck.settings",
        }
        if self.db == "postgres":
            env["DATABASE_URL"] = self.pg_url
        return env

    def __enter__(self) -> BenchRun:
        sweep_leftovers()
        atexit.register(self.close)
        signal.signal(signal.SIGTERM, _exit_on_signal)
        self.data_dir.mkdir(parents=True)
        os.environ.update(self.env())
        os.environ.setdefault("UNSTUCK_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
        if self.db == "postgres":
            import psycopg

            like = f' TEMPLATE "{self.template}"' if self.template else ""
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"{like}')
        else:
            os.environ.pop("DATABASE_URL", None)
            if self.template:
                shutil.copyfile(self.template, self.data_dir / "unstuck.sqlite3")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        copied = f" (a copy of {self.template})" if self.template else ""
        print(f"[{self.bench} · {self.db} · {self.name}{copied}] {machine()}", flush=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if self.keep:
            # Renamed without this process's id, so the next run's sweep leaves them alone.
            kept = self.name.replace(f"_{os.getpid()}_", "_kept_")
            folder = self.tmp.with_name(self.tmp.name.replace(f"-{os.getpid()}-", "-kept-"))
            with contextlib.suppress(OSError):
                self.tmp = self.tmp.rename(folder)
            if self.db == "postgres":
                import psycopg

                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                    admin.execute(f'ALTER DATABASE "{self.name}" RENAME TO "{kept}"')
                self.name = kept
            print(
                f"kept: {self.tmp}" + (f", database {self.name}" if self.db == "postgres" else "")
            )
            return
        if self.db == "postgres":
            with contextlib.suppress(Exception):
                import psycopg

                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.tmp, ignore_errors=True)

    def analyze(self) -> float:
        """Fresh planner statistics, as autovacuum (PostgreSQL) would have by the time anyone
        looks at bulk-generated data; returns the seconds it took."""
        from django.db import connection

        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if self.db == "postgres" else "ANALYZE")
        return time.perf_counter() - t0

    def size_mb(self) -> float:
        """The database's size on disk."""
        from django.db import connection

        if self.db == "postgres":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_database_size(current_database())")
                return cursor.fetchone()[0] / 1e6
        return sum(p.stat().st_size for p in self.data_dir.glob("unstuck.sqlite3*")) / 1e6


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def temp_folder(bench: str) -> Iterator[Path]:
    """A temporary folder named for this run (swept like the databases), removed after."""
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-{bench}-{os.getpid()}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def per_backend(
    script: str, argv: list[str], backends: Sequence[str], templates: dict[str, str] | None = None
) -> int:
    """Run the script once per backend in a child process (settings are per process), each
    with its --template when given; returns the number of children that failed."""
    failed = 0
    for db in backends:
        extra = ["--template", templates[db]] if templates and templates.get(db) else []
        proc = subprocess.run([sys.executable, script, *argv, *extra, "--db", db], cwd=REPO)
        failed += proc.returncode != 0
    return failed


# --- pages -----------------------------------------------------------------------------------


class PageTimer:
    """Times pages through Django's whole stack in this process (middleware, session, access
    rules, queries, template), as each signed-in person, against the reference page."""

    def __init__(self, run: BenchRun, *, repeats: int = 30, warmup: int = 3) -> None:
        from django.test.utils import setup_test_environment

        with contextlib.suppress(RuntimeError):  # already set up by an earlier PageTimer
            setup_test_environment()  # responses carry their context; outbox instead of email
        self.run, self.repeats, self.warmup = run, repeats, warmup
        self._clients: dict[str, Any] = {}

    def client(self, email: str) -> Any:
        from django.test import Client

        from unstuck.core.models import User

        if email not in self._clients:
            client = Client()
            client.force_login(User.objects.get(email=email))
            self._clients[email] = client
        return self._clients[email]

    def time(
        self, label: str, email: str | None, url: str, *, headers: dict[str, str] | None = None
    ) -> Timing:
        """First request, warm-up, timed requests; the queries of one more request."""
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        client = self.client(email) if email else Client()
        headers = headers or {}

        def get() -> Any:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)
            return response

        timing = time_calls(label, get, repeats=self.repeats, warmup=self.warmup)
        with CaptureQueriesContext(connection) as queries:
            get()
        timing.queries = len(queries)
        print(timing.line(), flush=True)
        return timing

    def reference(self, email: str, slug: str) -> Timing:
        """The signed-in reference page for this person (and /healthz, for the record)."""
        self.time("(no session) /healthz", None, "/healthz")
        return self.time(f"reference: signed-in /w/{slug}/ping/", email, f"/w/{slug}/ping/")


def page_verdicts(
    timing: Timing, reference: Timing, *, p95_under: float = 150, ratio_under: float = 3
) -> bool:
    """The two page targets: p95 under a bound, and the median within a multiple of the
    signed-in reference page's median."""
    a = verdict(f"{timing.label} p95", timing.p95, under=p95_under)
    b = verdict(
        f"{timing.label} median",
        timing.median,
        reference=reference.median,
        reference_label="signed-in reference median",
        ratio_under=ratio_under,
    )
    return a and b
