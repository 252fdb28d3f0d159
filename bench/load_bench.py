"""Load: the production server (`unstuck serve`, gunicorn) under 20 concurrent users, on
PostgreSQL and on SQLite, driven by locust (headless).

For each database: a demo workspace of --deals deals in a run of its own (bench/common.py),
planner statistics refreshed, the queue scored; then `unstuck serve` on a port of the
bench's range, a warm-up, and two timed scenarios of --seconds each:
  - "people": 20 users who pause about --think seconds between pages;
  - "saturation": 20 clients that send the next request as soon as one answers.
Each prints, per kind of request, the count, errors, p50/p95/p99/max and throughput, beside
/healthz (no session) and the signed-in reference page /w/<slug>/ping/ under the same load,
the time gunicorn's workers spent on the requests (its access log), which tells waiting
for a worker from working, and the CPU the server (workers and database backends) spent per
request, the figure least disturbed by whatever else runs on the machine, beside the CPU
locust itself spent (it shares the cores) and what the rest of the machine took.

Target (issue 15): the pipeline page's p95 under 300 ms at 20 users on PostgreSQL.

    uv run --group load python bench/load_bench.py                 # both databases
    uv run --group load python bench/load_bench.py --db postgres --deals 20000 --seconds 30
    ... --scenario saturation --workers 2 --threads 2    # one scenario, another worker model
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    REPO,
    BenchRun,
    machine,
    per_backend,
    percentile,
    summary,
    verdict,
)

PORTS = {"postgres": int(os.environ.get("BENCH_PORT_PG", "8171")),
         "sqlite": int(os.environ.get("BENCH_PORT_SQLITE", "8172"))}  # fmt: skip
USERS = 20
PEOPLE = [
    "leader@demo.example",
    "manager@demo.example",
    "manager2@demo.example",
    "rep@demo.example",
    "rep2@demo.example",
    "rep5@demo.example",
]
# What the workers' access log records per request: path, status, microseconds.
ACCESS_FORMAT = "ACCESS %(U)s %(s)s %(D)s"


def _prepare(deals: int) -> dict[str, object]:
    """The demo data and what each simulated person needs: a session, deals, a token."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
    from django.contrib.sessions.backends.db import SessionStore

    from unstuck.core.access import deals_visible_to
    from unstuck.core.models import Membership, Workspace
    from unstuck.core.services import api_token_create
    from unstuck.demo.generator import generate_demo
    from unstuck.investigate.services import assessments_recompute

    # The backend a session names must load users (as Django's force_login picks it): the
    # first one, the sign-in throttle, only authenticates.
    backend = next(
        path for path in settings.AUTHENTICATION_BACKENDS if hasattr(load_backend(path), "get_user")
    )
    ws = Workspace.objects.filter(slug="demo").first()
    if ws is None:
        started = time.perf_counter()
        ws = generate_demo(deals=deals, seed=1, activity_rate=0.15).workspace
        print(f"demo: {deals:,} deals in {time.perf_counter() - started:.0f} s")
        assessments_recompute(workspace=ws)
    people = []
    for email in PEOPLE:
        m = Membership.objects.select_related("user", "workspace").get(
            user__email=email, workspace=ws
        )
        session = SessionStore()
        session[SESSION_KEY] = str(m.user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = m.user.get_session_auth_hash()
        session.create()
        ids = list(deals_visible_to(m).order_by("-amount").values_list("pk", flat=True)[:200])
        _, token = api_token_create(user=m.user, name="load bench")
        people.append(
            {
                "email": email,
                "manages": m.role in ("manager", "leader"),
                "session": session.session_key,
                "deal_ids": ids,
                "token": token,
            }
        )
    return {"slug": ws.slug, "people": people}


def _serve(run: BenchRun, port: int, log: Path, serve_args: list[str]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **run.env(),
        "UNSTUCK_ALLOWED_HOSTS": "127.0.0.1",
        "GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_FORMAT}'",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "unstuck.cli", "serve", "--bind", f"127.0.0.1:{port}", *serve_args],
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    # Collecting static files and booting the workers takes minutes on a busy machine.
    deadline = time.time() + float(os.environ.get("BENCH_SERVE_WAIT", "300"))
    try:
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return proc
            except OSError:
                time.sleep(0.5)
    except BaseException:  # Ctrl-C or SIGTERM while waiting: leave no server behind
        _stop(proc)
        raise
    _stop(proc)
    raise SystemExit(f"the server did not answer on port {port}: see {log}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # `unstuck serve` execs gunicorn: this pid is gunicorn's master; TERM stops its workers.
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _locust(config: Path, port: int, seconds: int, think: float, out: Path) -> float:
    """Run locust for `seconds`; return the CPU seconds locust itself used (it runs on the
    same cores as the server, so it is part of what the machine spends on the run)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(REPO / "bench" / "load_locustfile.py"),
            "--headless",
            "--users",
            str(USERS),
            "--spawn-rate",
            str(USERS),
            "--run-time",
            f"{seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(out),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env={**os.environ, "LOAD_BENCH_CONFIG": str(config), "THINK_SECONDS": str(think)},
        cwd=REPO,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=(out.parent / "locust.log").open("ab"),
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _name(path: str) -> str:
    if path == "/healthz":
        return "/healthz (reference, no session)"
    if path.endswith("/ping/"):
        return "signed-in reference /ping/"
    if path.startswith("/api/"):
        return "API deal list"
    if "/investigate/" in path:
        return "queue"
    if re.search(r"/deals/\d+/$", path):
        return "deal page"
    return "pipeline"


def _service_times(log: Path, since: int) -> dict[str, list[float]]:
    """Milliseconds gunicorn's workers spent per request, by kind, from the access log."""
    out: dict[str, list[float]] = defaultdict(list)
    with log.open("rb") as fh:
        fh.seek(since)
        for raw in fh:
            line = raw.decode(errors="replace")
            if line.startswith("ACCESS "):
                _, path, _status, micros = line.split()
                out[_name(path)].append(int(micros) / 1000)
    return out


def _server_cpu(server_pid: int, database: str | None) -> dict[int, float]:
    """CPU seconds so far of each process serving the requests: gunicorn's workers and, on
    PostgreSQL, the database's backends for this run's database. Their sum over a scenario,
    per request, is what a request costs the machine whatever else runs on it (wall-clock
    latencies on a shared machine mostly measure the others)."""
    import psutil

    procs = psutil.Process(server_pid).children()
    if database:
        import psycopg

        from bench.common import PG_ADMIN_URL

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            pids = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]
            ).fetchall()
        procs += [psutil.Process(pid) for (pid,) in pids]
    out = {}
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        out[proc.pid] = times.user + times.system
    return out


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """Seconds of CPU between two readings (a process that appeared counts from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _machine_cpu() -> tuple[float, float]:
    """CPU seconds the whole machine has spent busy and idle so far (all cores)."""
    import psutil

    times = psutil.cpu_times()._asdict()
    idle = times.pop("idle") + times.pop("iowait", 0.0)
    # guest time is already counted in user time
    busy = sum(v for k, v in times.items() if k not in ("guest", "guest_nice"))
    return busy, idle


def _report(
    title: str,
    stats_csv: Path,
    service: dict[str, list[float]],
    db: str,
    cpu: float,
    locust_cpu: float,
    machine_cpu: tuple[float, float],
) -> None:
    rows = list(csv.DictReader(stats_csv.open()))
    print(f"\n{db} · {title} · {machine()}")
    print(f"  {'request':<34}{'count':>7}{'errors':>7}{'p50':>7}{'p95':>7}{'p99':>7}{'max':>7}"
          f"{'req/s':>7}   worker p50/p95 ms")  # fmt: skip
    by_name = {}
    for row in rows:
        name = row["Name"]
        by_name[name] = row
        work = service.get(name, [])
        served = (
            f"{statistics.median(work):6.0f} {percentile(work, 95):6.0f}"
            if work and name != "Aggregated"
            else ""
        )
        print(f"  {name:<34}{row['Request Count']:>7}{row['Failure Count']:>7}{row['50%']:>7}"
              f"{row['95%']:>7}{row['99%']:>7}{float(row['Max Response Time']):>7.0f}"
              f"{float(row['Requests/s']):>7.1f}   {served}")  # fmt: skip
    ref = by_name.get("signed-in reference /ping/")
    pipeline = by_name.get("pipeline")
    total = by_name.get("Aggregated")
    if total and int(total["Request Count"]):
        served = int(total["Request Count"])
        print(f"  server CPU (workers + database): {cpu:.1f} s for {served} requests = "
              f"{cpu * 1000 / served:.1f} ms a request, i.e. about "
              f"{served / cpu * (os.cpu_count() or 1):.0f} requests/s on all "
              f"{os.cpu_count()} cores with nothing else running")  # fmt: skip
        busy, idle = machine_cpu
        print(f"  the cores over the run: {busy + idle:.0f} s, of which server {cpu:.1f} s, "
              f"locust (the clients) {locust_cpu:.1f} s = {locust_cpu * 1000 / served:.1f} ms "
              f"a request, everything else {max(busy - cpu - locust_cpu, 0):.1f} s, "
              f"idle {idle:.1f} s")  # fmt: skip
    if pipeline and ref:
        verdict(
            f"{db} {title}: pipeline p95",
            float(pipeline["95%"]),
            under=300,
            reference=float(ref["95%"]),
            reference_label="signed-in reference p95",
        )
    failures = stats_csv.with_name(stats_csv.name.replace("_stats.csv", "_failures.csv"))
    if failures.exists():
        for row in list(csv.DictReader(failures.open()))[:5]:
            print(f"  failed {row['Occurrences']}x: {row['Name']}: {row['Error'][:200]}")
    if total:
        verdict(f"{db} {title}: errors", float(total["Failure Count"]), unit="errors", under=1)


def run(
    db: str,
    deals: int,
    seconds: int,
    think: float,
    template: str | None,
    serve_args: list[str],
    scenarios: str = "both",
) -> None:
    with BenchRun("load", db=db, template=template) as bench:
        config = _prepare(deals)
        print(f"ANALYZE {bench.analyze():.1f} s")
        config_file = bench.tmp / "load.json"
        config_file.write_text(json.dumps(config))
        port = PORTS[db]
        log = bench.tmp / "serve.log"
        server = _serve(bench, port, log, serve_args)
        serving = [line for line in log.read_text().splitlines() if "Serving on" in line]
        print(f"`unstuck serve`: {serving[0] if serving else '?'}", flush=True)
        try:
            # Templates compile and connections open on each worker's first requests.
            _locust(config_file, port, 15, 0, bench.tmp / "warmup")
            database = bench.name if db == "postgres" else None
            plan = [
                ("people", f"people (think {think:g} s)", think),
                ("saturation", "saturation", 0.0),
            ]
            for _, title, pause in [step for step in plan if scenarios in ("both", step[0])]:
                since = log.stat().st_size
                cpu_before = _server_cpu(server.pid, database)
                busy_before, idle_before = _machine_cpu()
                locust_cpu = _locust(config_file, port, seconds, pause, bench.tmp / "run")
                cpu = _cpu_used(cpu_before, _server_cpu(server.pid, database))
                busy, idle = _machine_cpu()
                service = _service_times(log, since)
                _report(
                    title,
                    bench.tmp / "run_stats.csv",
                    service,
                    db,
                    cpu,
                    locust_cpu,
                    (busy - busy_before, idle - idle_before),
                )
        finally:
            _stop(server)
        summary(f"load_bench {deals:,} deals {db}, {USERS} users, {seconds} s per scenario")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=60, help="Length of each scenario.")
    parser.add_argument(
        "--think", type=float, default=1.0, help="Mean pause between a person's requests."
    )
    parser.add_argument(
        "--template",
        help="Copy this database (PostgreSQL name or SQLite file) made by the same generator "
        "and seed, already scored, instead of generating one (with --db sqlite or postgres).",
    )
    parser.add_argument(
        "--scenario",
        choices=["people", "saturation", "both"],
        default="both",
        help="Which scenario to run (default both).",
    )
    parser.add_argument("--workers", type=int, help="`unstuck serve --workers` (else its default).")
    parser.add_argument("--threads", type=int, help="`unstuck serve --threads` (else its default).")
    args = parser.parse_args()
    serve_args = [
        arg
        for name in ("workers", "threads")
        if getattr(args, name) is not None
        for arg in (f"--{name}", str(getattr(args, name)))
    ]
    if args.db == "both":
        argv = ["--deals", str(args.deals), "--seconds", str(args.seconds)]
        argv += ["--think", str(args.think), "--scenario", args.scenario, *serve_args]
        sys.exit(per_backend(__file__, argv, ["postgres", "sqlite"]))
    run(args.db, args.deals, args.seconds, args.think, args.template, serve_args, args.scenario)


if __name__ == "__main__":
    main()
