"""Pipeline page at 100,000 deals: median server time per page of 50 rows, on SQLite and PostgreSQL.

Each run builds a fresh database with the demo generator, then times requests through
Django's full stack (middleware, access rules, queries, template) in-process, beside a
trivial view (/healthz) measured in the same run as the reference.

    uv run python bench/pipeline_bench.py                 # both backends, 100,000 deals
    uv run python bench/pipeline_bench.py --db sqlite --deals 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PG_URL = "postgres://postgres@127.0.0.1:5432/unstuck_bench_pipeline"

CASES = [
    ("leader, open deals, by amount", "leader@demo.example", ""),
    ("leader, all deals, page 200", "leader@demo.example", "status=all&page=200"),
    ("leader, by close date", "leader@demo.example", "sort=close"),
    ("leader, longest in stage", "leader@demo.example", "sort=in-stage"),
    ("leader, one stage + search", "leader@demo.example", "stage={stage}&q=logistics"),
    ("manager, team deals", "manager@demo.example", ""),
    ("manager, won, by name", "manager@demo.example", "status=won&sort=name"),
    ("rep, own and team's deals", "rep@demo.example", ""),
]


def run_backend(db: str, deals: int, repeats: int) -> None:
    os.environ.setdefault("UNSTUCK_SECRET_KEY", "bench")
    os.environ["UNSTUCK_ALLOWED_HOSTS"] = "testserver"
    os.environ["UNSTUCK_DATA_DIR"] = tempfile.mkdtemp(prefix="unstuck-bench-")
    if db == "postgres":
        os.environ["DATABASE_URL"] = PG_URL
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "unstuck.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from unstuck.deals.models import Deal, Stage
    from unstuck.demo.generator import generate_demo

    if db == "postgres":
        _recreate_pg_database()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    generate_demo(deals=deals, seed=1, activity_rate=0.15, progress=True)
    if db == "postgres":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    build = time.perf_counter() - started
    total = Deal.objects.count()
    stage = Stage.objects.get(name="Negotiation").pk
    print(
        f"\n[{db}] {total:,} deals generated in {build:.0f} s; page size "
        f"{settings.UNSTUCK_PAGE_SIZE}; {repeats} requests per case"
    )

    def timed(client: Client, url: str) -> tuple[float, int, int]:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        executed: list[str] = []

        def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(url)
        rows = len(response.context["page"].object_list) if response.context else 0
        return statistics.median(times), len(executed), rows

    setup_test_environment()  # so responses carry their template context (rows shown)
    anon = Client()
    ref, _, _ = timed(anon, "/healthz")
    print(f"  {'reference: trivial view /healthz':42} median {ref:7.2f} ms")
    worst = 0.0
    for label, email, query in CASES:
        client = Client()
        client.force_login(_user(email))
        url = "/w/demo/deals/?" + query.format(stage=stage)
        median, queries, rows = timed(client, url)
        worst = max(worst, median)
        print(f"  {label:42} median {median:7.2f} ms  {queries} queries  {rows} rows")
    verdict = "PASS" if worst < 150 else "FAIL"
    print(f"  worst case {worst:.1f} ms vs target 150 ms: {verdict}; reference view {ref:.2f} ms")


def _user(email: str):  # type: ignore[no-untyped-def]
    from unstuck.core.models import User

    return User.objects.get(email=email)


def _recreate_pg_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS unstuck_bench_pipeline")
        c.execute("CREATE DATABASE unstuck_bench_pipeline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args()
    if args.db == "both":
        # Settings are per process: one child per backend.
        for db in ("sqlite", "postgres"):
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--db",
                    db,
                    "--deals",
                    str(args.deals),
                    "--repeats",
                    str(args.repeats),
                ],
                check=True,
            )
        return
    run_backend(args.db, args.deals, args.repeats)


if __name__ == "__main__":
    main()
