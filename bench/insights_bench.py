"""The insights page at 100,000 deals and a year of activity: median server time per request
through Django's full stack for a manager and a leader (target: under 300 ms at the median),
the queries each runs, and how long the background recomputation that feeds it takes.
SQLite by default, PostgreSQL with --db postgres.

    uv run python bench/insights_bench.py                 # 100,000 deals, SQLite
    uv run python bench/insights_bench.py --deals 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

REFERENCE_MS = 300.0
PG_URL = "postgres://postgres@127.0.0.1:5432/insights_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--reuse",
        metavar="DIR",
        help="Time the pages on the SQLite workspace an earlier run left in DIR (it prints it).",
    )
    args = parser.parse_args()
    os.environ.setdefault("UNSTUCK_SECRET_KEY", "bench")
    os.environ["UNSTUCK_ALLOWED_HOSTS"] = "testserver"
    os.environ["UNSTUCK_DATA_DIR"] = args.reuse or tempfile.mkdtemp(prefix="insights-bench-")
    if args.db == "postgres":
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS insights_bench WITH (FORCE)")
            c.execute("CREATE DATABASE insights_bench")
        os.environ["DATABASE_URL"] = PG_URL
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "unstuck.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from unstuck.core.models import User, Workspace
    from unstuck.deals.models import Activity, Deal, StageChange
    from unstuck.demo.generator import generate_demo
    from unstuck.insights.models import InsightsRun
    from unstuck.insights.services import insights_recompute

    call_command("migrate", verbosity=0)
    print(f"Insights page · {args.db} · data in {os.environ['UNSTUCK_DATA_DIR']}")
    if not args.reuse:
        started = time.perf_counter()
        ws = generate_demo(deals=args.deals, seed=1, activity_rate=0.3).workspace
        print(f"demo generated in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        run = insights_recompute(run=InsightsRun.objects.create(workspace=ws))
        assert run.status == "done", run.error
        print(f"background recomputation: {time.perf_counter() - started:.1f} s")
    ws = Workspace.objects.get(slug="demo")
    print(
        f"{Deal.objects.filter(workspace=ws).count():,} deals, "
        f"{StageChange.objects.filter(deal__workspace=ws).count():,} stage changes, "
        f"{Activity.objects.filter(deal__workspace=ws).count():,} activities over 18 months"
    )
    run = InsightsRun.objects.filter(workspace=ws, status="done").latest("created_at")
    print(run.effectiveness["all"]["headlines"]["all"])
    setup_test_environment()
    cases = [
        ("manager", "manager@demo.example", "/w/demo/insights/"),
        ("leader", "leader@demo.example", "/w/demo/insights/"),
        ("API, manager", "manager@demo.example", "/api/v1/workspaces/demo/insights/effectiveness"),
    ]
    print(
        "\nmachine: 2 cores shared with other engineers' jobs, load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    print(f"{'request':<16}{'reference ms':>13}{'median ms':>11}{'ratio':>7}{'queries':>9}  result")
    failed = False
    for label, email, url in cases:
        client = Client()
        client.force_login(User.objects.get(email=email))
        client.get(url)
        times = []
        for _ in range(args.repeats):
            with CaptureQueriesContext(connection) as queries:
                t = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        median = statistics.median(times)
        ok = median <= REFERENCE_MS
        failed |= not ok
        print(
            f"{label:<16}{REFERENCE_MS:>13.0f}{median:>11.0f}{median / REFERENCE_MS:>7.2f}"
            f"{len(queries):>9}  {'PASS' if ok else 'FAIL'}"
        )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
