"""A play's outcome panel with 1,000 applications: the play page (its measured outcome against
comparable deals, the Kaplan-Meier curves, the win-rate intervals) through Django's whole
stack, against the signed-in reference page. Target: under 200 ms at the median.

History: one quarter of deals entering Discovery, 1,000 with the play applied three days
later and `--comparison` without it (unstuck.demo.plays.plant_history: a known process).
The comparison (cohort SQL + the estimator) is computed once per day and per change of the
play's applications, in the background after an application, and kept on the play; the
page reads it. Both are timed: the computation (what the background task costs) and the
page (the target).

    uv run python bench/share_play_bench.py                      # SQLite
    uv run python bench/share_play_bench.py --db postgres
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BenchRun, PageTimer, summary, time_calls, verdict

TARGET_MS = 200.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--applications", type=int, default=1000)
    parser.add_argument("--comparison", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    with BenchRun("share_play", db=args.db) as run:
        from unstuck.core.models import Membership, Role, User, Workspace
        from unstuck.core.testing import make_pipeline
        from unstuck.demo.plays import Arm, plant_history, quarter_start
        from unstuck.share.models import Play, PlayStatus
        from unstuck.share.plays_outcomes import outcome_summary, play_outcome, stored_outcome

        ws = Workspace.objects.create(name="Demo", slug="demo")
        leader = User.objects.create_user("leader@demo.example", "demo", name="Leader")
        Membership.objects.create(workspace=ws, user=leader, role=Role.LEADER)
        _, stages = make_pipeline(ws)
        now = datetime.now(UTC)
        play = Play.objects.create(
            workspace=ws,
            title="Phase the rollout",
            what_to_do="Offer a paid first phase.",
            status=PlayStatus.VERIFIED,
            verified_at=now,
            owner=leader,
            verifier=leader,
        )
        t0 = time.perf_counter()
        made = plant_history(
            workspace=ws,
            stages=stages,
            arms=[Arm(play, args.applications, 0.45), Arm(None, args.comparison, 0.3)],
            start=quarter_start(now - timedelta(days=420)),
            seed=3,
        )
        print(
            f"{made:,} applications, {args.applications + args.comparison:,} deals planted in "
            f"{time.perf_counter() - t0:.1f} s; analyze {run.analyze():.1f} s"
        )
        compute = time_calls(
            "outcome computed (background task)",
            lambda: stored_outcome(play, refresh=True),
            repeats=max(3, args.repeats // 3),
            warmup=0,
        )
        print(compute.line(), flush=True)
        result = play_outcome(play)
        print(f"  {result.headline('Deals with this play')}  [{result.verdict}]")
        stored = time_calls(
            "outcome summary (stored)", lambda: outcome_summary(play), repeats=args.repeats
        )
        print(stored.line(), flush=True)
        pages = PageTimer(run, repeats=args.repeats)
        ref = pages.reference("leader@demo.example", "demo")
        page = pages.time(
            "play page, 1,000 applications", "leader@demo.example",
            f"/w/demo/share/plays/{play.pk}/",
        )  # fmt: skip
        api = pages.time(
            "API outcome", "leader@demo.example",
            f"/api/v1/workspaces/demo/share/plays/{play.pk}/outcome",
        )  # fmt: skip
        ok = verdict(
            "play outcome panel median",
            page.median,
            under=TARGET_MS,
            reference=ref.median,
            reference_label="signed-in reference median",
            note=f"p95 {page.p95:.0f} ms, {page.queries} queries, {args.db}",
        )
        verdict("API outcome median", api.median, under=TARGET_MS, note=f"{api.queries} queries")
        verdict(
            "outcome computation (background, not on the page)",
            compute.median,
            note=f"cpu {statistics.median(compute.cpu):.0f} ms",
        )
        summary("share play bench")
        raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
