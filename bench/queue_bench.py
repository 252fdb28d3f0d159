"""The innovation queue and the deal page at 100,000 deals: median server time per request
through Django's full stack, and the queries each page runs, on SQLite (or PostgreSQL with
--db postgres). Also times the nightly recomputation that feeds the queue.

    uv run python bench/queue_bench.py                 # 100,000 deals, SQLite
    uv run python bench/queue_bench.py --deals 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

PG_URL = "postgres://postgres@127.0.0.1:5432/unstuck_bench_queue"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("UNSTUCK_SECRET_KEY", "bench")
    os.environ["UNSTUCK_ALLOWED_HOSTS"] = "testserver"
    os.environ["UNSTUCK_DATA_DIR"] = tempfile.mkdtemp(prefix="unstuck-queuebench-")
    if args.db == "postgres":
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS unstuck_bench_queue WITH (FORCE)")
            c.execute("CREATE DATABASE unstuck_bench_queue")
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

    from unstuck.demo.generator import generate_demo
    from unstuck.investigate.models import DealAssessment
    from unstuck.investigate.services import assessments_recompute

    call_command("migrate", verbosity=0)
    print(f"Queue and deal page · {args.deals:,} deals · {args.db}")
    print(
        "machine: 2 cores shared with other engineers' jobs, load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    started = time.perf_counter()
    ws = generate_demo(deals=args.deals, seed=1, activity_rate=0.15).workspace
    print(f"demo generated in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    result = assessments_recompute(workspace=ws)
    print(
        f"recompute (benchmarks, training, scoring {result.assessed:,} open deals): "
        f"{time.perf_counter() - started:.1f} s\n"
    )
    setup_test_environment()
    stuck = DealAssessment.objects.filter(workspace=ws).order_by("-payoff").first()
    assert stuck is not None
    cases = [
        ("queue, manager", "manager@demo.example", "/w/demo/investigate/"),
        ("queue, leader, page 3", "leader@demo.example", "/w/demo/investigate/?page=3"),
        ("queue, leader, all open", "leader@demo.example", "/w/demo/investigate/?show=all"),
        ("deal page with signals", "leader@demo.example", f"/w/demo/deals/{stuck.deal_id}/"),
    ]
    from unstuck.core.models import User

    print(f"{'page':<28}{'median ms':>10}{'queries':>9}")
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
        print(f"{label:<28}{statistics.median(times):>10.0f}{len(queries):>9}")


if __name__ == "__main__":
    main()
