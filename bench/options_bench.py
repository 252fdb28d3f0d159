"""Option generator: time to propose options for a stuck deal (target: p95 under 300 ms).

Builds a demo workspace in a database of its own (bench/common.py), then times `suggest_for`
on the deals that carry an investigation (obstacles, committee concerns): the service path
of the session page, the API and `unstuck options suggest`, including its queries; and the
API endpoint that serves it, beside the signed-in reference page.

    uv run python bench/options_bench.py                  # 5,000 deals, SQLite
    uv run python bench/options_bench.py --deals 20000 --repeats 10 --db postgres
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    BenchRun,
    PageTimer,
    Timing,
    peak_rss_mb,
    per_backend,
    summary,
    verdict,
)


def run(db: str, deals: int, repeats: int, sample: int) -> None:
    with BenchRun("options", db=db) as bench:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from unstuck.cocreate.generator import suggest_for
        from unstuck.deals.models import Deal
        from unstuck.demo.generator import generate_demo

        started = time.perf_counter()
        generate_demo(deals=deals, seed=7)
        print(f"demo workspace: {deals:,} deals in {time.perf_counter() - started:.1f} s; "
              f"ANALYZE {bench.analyze():.1f} s")  # fmt: skip
        chosen = list(
            Deal.objects.filter(obstacles__status="open")
            .distinct()
            .select_related("account", "stage", "workspace")
            .order_by("pk")[:sample]
        )
        t0 = time.perf_counter()
        suggest_for(chosen[0])  # the first call of the process: caches and levers cold
        first = (time.perf_counter() - t0) * 1000
        timings, counts, queries = [], [], []
        for deal in chosen:
            for _ in range(repeats):
                with CaptureQueriesContext(connection) as ctx:
                    t0 = time.perf_counter()
                    found = suggest_for(deal)
                    timings.append((time.perf_counter() - t0) * 1000)
                counts.append(len(found))
                queries.append(len(ctx.captured_queries))
        service = Timing(
            f"suggest_for, {len(chosen)} deals x {repeats}",
            timings,
            first,
            queries=max(queries),
            rss_mb=peak_rss_mb(),
        )
        print(f"suggestions per deal: min {min(counts)}, median {statistics.median(counts):.0f}")
        pages = PageTimer(bench, repeats=repeats * 4)
        ref = pages.reference("manager@demo.example", "demo")
        print(service.line(ref))
        api = pages.time(
            "API suggestions for one deal",
            "manager@demo.example",
            f"/api/v1/workspaces/demo/cocreate/deals/{chosen[0].pk}/suggestions",
        )
        for timing in (service, api):
            verdict(
                f"{timing.label} p95",
                timing.p95,
                under=300,
                reference=ref.median,
                reference_label="signed-in reference median (ratio of medians)",
                ratio=timing.median / ref.median,
            )
        summary(f"options_bench {deals:,} deals {db}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--deals", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sample", type=int, default=20, help="How many stuck deals to time.")
    args = parser.parse_args()
    if args.db == "both":
        argv = ["--deals", str(args.deals), "--repeats", str(args.repeats)]
        sys.exit(
            per_backend(__file__, [*argv, "--sample", str(args.sample)], ["sqlite", "postgres"])
        )
    run(args.db, args.deals, args.repeats, args.sample)


if __name__ == "__main__":
    main()
