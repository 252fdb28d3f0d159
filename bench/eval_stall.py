"""Back-test of the stall score: does it pick out the deals that will not be won?

For generated workspaces with full stage history, pick as-of dates; at each, recompute the
benchmarks from the deals closed by then, score the deals open then (from the history known
then), and compare with how they ended. Prints the AUC of the stall score for "not won"
beside Odoo's rotting rule on the same deals (a deal rots when the days since its last stage
change exceed a fixed per-stage threshold; Odoo's default setting is one number for every
stage) and beside the raw days-since-stage-change (the rule at every threshold).

    uv run python bench/eval_stall.py                   # demo seeds 7 and 21, 4,000 deals each
    uv run python bench/eval_stall.py --deals 10000 --rot-days 30
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=4000)
    parser.add_argument("--seeds", default="7,21")
    parser.add_argument("--rot-days", type=int, default=30, help="Odoo's rotting threshold.")
    args = parser.parse_args()
    os.environ.setdefault("UNSTUCK_SECRET_KEY", "bench")
    os.environ["UNSTUCK_DATA_DIR"] = tempfile.mkdtemp(prefix="unstuck-evalstall-")
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "unstuck.settings"
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command
    from sklearn.metrics import roc_auc_score

    from unstuck.deals.models import Deal
    from unstuck.demo.generator import generate_demo
    from unstuck.investigate.benchmarks import benchmarks_recompute
    from unstuck.investigate.signals import SIGNALS, signal_rows

    call_command("migrate", verbosity=0)
    today = date(2026, 6, 1)
    print(f"Stall back-test · {args.deals:,} generated deals per workspace · SQLite")
    print("(machine: 2 cores shared with other engineers' jobs)\n")
    for seed in [int(s) for s in args.seeds.split(",")]:
        started = time.perf_counter()
        ws = generate_demo(
            deals=args.deals, seed=seed, today=today, slug=f"bt-{seed}", name=f"Back-test {seed}"
        ).workspace
        outcome = dict(
            Deal.objects.filter(workspace=ws).exclude(status="open").values_list("pk", "status")
        )
        y, score, rot, days = [], [], [], []
        fired: dict[str, list[int]] = {code: [] for code in SIGNALS}
        for weeks_back in (40, 32, 24, 16):
            as_of = datetime.combine(today - timedelta(weeks=weeks_back), datetime.min.time(), UTC)
            benchmarks_recompute(workspace=ws, as_of=as_of)
            for row in signal_rows(ws, as_of=as_of):
                if row["deal_id"] not in outcome:
                    continue  # still open today: its outcome is unknown
                y.append(1 if outcome[row["deal_id"]] != "won" else 0)
                score.append(row["stall_score"])
                d = float(row["days_in_stage"] or 0)
                days.append(d)
                rot.append(1 if d > args.rot_days else 0)
                for code in SIGNALS:
                    fired[code].append(row[f"f_{code}"])
        ya = np.array(y)
        print(
            f"workspace seed {seed}: {len(y):,} deal snapshots at 4 as-of dates "
            f"({ya.mean():.0%} not won), {time.perf_counter() - started:.1f} s"
        )
        print(f"  {'AUC for not won':<46}{roc_auc_score(ya, score):.3f}  stall score")
        print(f"  {'':<46}{roc_auc_score(ya, rot):.3f}  Odoo rotting rule (> {args.rot_days} d)")
        print(f"  {'':<46}{roc_auc_score(ya, days):.3f}  days since stage change")
        print("  signal                          fires  not-won rate when fired / not fired")
        for code, flags in fired.items():
            f = np.array(flags)
            if f.sum() == 0:
                print(f"  {code:<30}{0:>7}")
                continue
            rest = ya[f == 0].mean() if (f == 0).any() else float("nan")
            print(f"  {code:<30}{int(f.sum()):>7}  {ya[f == 1].mean():.0%} / {rest:.0%}")
        print()


if __name__ == "__main__":
    main()
