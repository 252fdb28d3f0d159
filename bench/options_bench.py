"""Option generator: time to propose options for a stuck deal (target: under 300 ms).

Builds a fresh SQLite demo workspace, then times `suggest_for` on the deals that carry an
investigation (obstacles, committee concerns): the service path of the session page, the
API and `unstuck options suggest`, including its queries. Figures are wall-clock on whatever
machine runs it (the reference machine has 2 cores shared with other work).

    uv run python bench/options_bench.py                 # 5,000 deals, 20 deals x 5 runs
    uv run python bench/options_bench.py --deals 20000 --repeats 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sample", type=int, default=20, help="How many stuck deals to time.")
    args = parser.parse_args()

    os.environ.setdefault("UNSTUCK_SECRET_KEY", "bench")
    os.environ["UNSTUCK_DATA_DIR"] = tempfile.mkdtemp(prefix="unstuck-bench-options-")
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "unstuck.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from unstuck.cocreate.generator import suggest_for
    from unstuck.deals.models import Deal
    from unstuck.demo.generator import generate_demo

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    generate_demo(deals=args.deals, seed=7)
    print(f"demo workspace: {args.deals:,} deals in {time.perf_counter() - started:.1f} s")

    deals = list(
        Deal.objects.filter(obstacles__status="open")
        .distinct()
        .select_related("account", "stage", "workspace")
        .order_by("pk")[: args.sample]
    )
    suggest_for(deals[0])  # seeds the levers, warms the caches
    timings, counts, queries = [], [], []
    for deal in deals:
        for _ in range(args.repeats):
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                found = suggest_for(deal)
                timings.append((time.perf_counter() - t0) * 1000)
            counts.append(len(found))
            queries.append(len(ctx.captured_queries))
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(f"deals timed: {len(deals)} (each {args.repeats}x), SQLite, 2 shared cores")
    print(f"suggestions per deal: min {min(counts)}, median {statistics.median(counts):.0f}")
    print(f"queries per call: {max(queries)}")
    print(
        f"time per call: median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
        f"max {timings[-1]:.1f} ms (target < 300 ms)"
    )


if __name__ == "__main__":
    main()
