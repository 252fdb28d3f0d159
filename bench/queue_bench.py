"""The innovation queue and the deal page at 100,000 deals, on SQLite and PostgreSQL.

Builds a demo workspace in a database of its own, refreshes the planner's statistics once
(as autovacuum would have by morning), runs the nightly recompute that fills the queue (the
app's own statistics refresh, if any, is what the pages then get), and times each page
through Django's whole stack beside the signed-in reference page (bench/common.py).

Targets (issue 16): p95 under 150 ms, and the median within 3x the reference's median.

    uv run python bench/queue_bench.py                    # 100,000 deals, both databases
    uv run python bench/queue_bench.py --db sqlite --deals 20000 --repeats 20
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    BenchRun,
    PageTimer,
    machine,
    page_verdicts,
    peak_rss_mb,
    per_backend,
    summary,
)


def run(
    db: str, deals: int, repeats: int, analyzed_pass: bool, template: str | None, keep: bool
) -> None:
    with BenchRun("queue", db=db, template=template, keep=keep) as bench:
        from unstuck.core.models import Workspace
        from unstuck.deals.models import Deal
        from unstuck.demo.generator import generate_demo
        from unstuck.investigate.models import DealAssessment
        from unstuck.investigate.services import assessments_recompute

        ws = Workspace.objects.filter(slug="demo").first()
        if ws is None:
            started = time.perf_counter()
            ws = generate_demo(deals=deals, seed=1, activity_rate=0.15).workspace
            print(f"demo: {deals:,} deals in {time.perf_counter() - started:.0f} s; "
                  f"ANALYZE {bench.analyze():.1f} s")  # fmt: skip
            started = time.perf_counter()
            result = assessments_recompute(workspace=ws)
            print(
                f"recompute (benchmarks, training, scoring {result.assessed:,} open deals): "
                f"{time.perf_counter() - started:.1f} s, peak RSS {peak_rss_mb():.0f} MB · "
                f"{machine()}"
            )
        else:
            print(f"from {template}: {Deal.objects.count():,} deals, "
                  f"{DealAssessment.objects.count():,} assessments")  # fmt: skip
        stuck = DealAssessment.objects.filter(workspace=ws).order_by("-payoff").first()
        assert stuck is not None
        cases = [
            ("queue, manager", "manager@demo.example", "/w/demo/investigate/"),
            ("queue, leader, page 3", "leader@demo.example", "/w/demo/investigate/?page=3"),
            ("queue, leader, all open", "leader@demo.example", "/w/demo/investigate/?show=all"),
            ("deal page, most stuck", "leader@demo.example", f"/w/demo/deals/{stuck.deal_id}/"),
            ("deal page, as its manager", "manager@demo.example", ""),
        ]
        passes = [("as the app leaves its statistics", False)]
        if analyzed_pass:
            passes.append(("after a manual ANALYZE", True))
        for title, analyze in passes:
            if analyze:
                print(f"ANALYZE {bench.analyze():.1f} s")
            print(f"\n{db}, {title}: {repeats} timed requests per case after 3 warm-up")
            pages = PageTimer(bench, repeats=repeats)
            refs = {
                email: pages.reference(email, "demo")
                for email in ("leader@demo.example", "manager@demo.example")
            }
            for label, email, url in cases:
                if not url:
                    url = _deal_of_manager(email)
                timing = pages.time(label, email, url)
                if not analyze:
                    page_verdicts(timing, refs[email])
        summary(f"queue_bench {deals:,} deals {db}")


def _deal_of_manager(email: str) -> str:
    """A stuck deal in the manager's own team (the page a manager opens from the queue)."""
    from unstuck.core.access import deals_visible_to
    from unstuck.core.models import Membership
    from unstuck.investigate.models import DealAssessment

    membership = Membership.objects.select_related("workspace").get(user__email=email)
    found = (
        DealAssessment.objects.filter(deal__in=deals_visible_to(membership).open())
        .order_by("-stall_score", "deal_id")
        .values_list("deal_id", flat=True)
        .first()
    )
    return f"/w/demo/deals/{found}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--template",
        help="Copy this database (PostgreSQL name or SQLite file) made by the same generator "
        "and seed, already scored, instead of generating one (with --db sqlite or postgres).",
    )
    parser.add_argument(
        "--analyzed-pass",
        action="store_true",
        help="Time the pages again after a manual ANALYZE (shows how much stale statistics cost).",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="Keep the scored database afterwards (rename it, or run with another BENCH_PREFIX, "
        "before using it as a --template: the next run sweeps a dead run's database).",
    )
    args = parser.parse_args()
    if args.db == "both":
        argv = ["--deals", str(args.deals), "--repeats", str(args.repeats)]
        argv += ["--analyzed-pass"] if args.analyzed_pass else []
        sys.exit(per_backend(__file__, argv, ["sqlite", "postgres"]))
    run(args.db, args.deals, args.repeats, args.analyzed_pass, args.template, args.keep)


if __name__ == "__main__":
    main()
