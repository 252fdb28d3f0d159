"""Pipeline page at 100,000 deals, on SQLite and PostgreSQL: each case beside the signed-in
reference page (bench/common.py).

Each run builds a demo workspace in a database of its own, refreshes the planner's
statistics once, and times requests through Django's whole stack (middleware, session,
access rules, queries, template) in-process: the first request, then a warm-up, then the
timed ones (median, p95, max), the queries of one request and the process's peak RSS.

Targets: p95 under 150 ms for every case, and the median within 3x the reference's median.

    uv run python bench/pipeline_bench.py                 # both backends, 100,000 deals
    uv run python bench/pipeline_bench.py --db sqlite --deals 20000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BenchRun, PageTimer, page_verdicts, per_backend, summary

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


def run(db: str, deals: int, repeats: int) -> None:
    with BenchRun("pipeline", db=db) as bench:
        from django.conf import settings

        from unstuck.deals.models import Deal, Stage
        from unstuck.demo.generator import generate_demo

        started = time.perf_counter()
        generate_demo(deals=deals, seed=1, activity_rate=0.15)
        build = time.perf_counter() - started
        print(
            f"{Deal.objects.count():,} deals generated in {build:.0f} s, ANALYZE "
            f"{bench.analyze():.1f} s; page size {settings.UNSTUCK_PAGE_SIZE}; "
            f"{repeats} timed requests per case after 3 warm-up"
        )
        stage = Stage.objects.get(name="Negotiation").pk
        pages = PageTimer(bench, repeats=repeats)
        refs = {}
        for label, email, query in CASES:
            if email not in refs:
                refs[email] = pages.reference(email, "demo")
            url = "/w/demo/deals/?" + query.format(stage=stage)
            page_verdicts(pages.time(label, email, url), refs[email])
        summary(f"pipeline_bench {deals:,} deals {db}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    if args.db == "both":
        argv = ["--deals", str(args.deals), "--repeats", str(args.repeats)]
        sys.exit(per_backend(__file__, argv, ["sqlite", "postgres"]))
    run(args.db, args.deals, args.repeats)


if __name__ == "__main__":
    main()
