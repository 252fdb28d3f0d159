"""Back-test of the stall score: does it pick out the deals that will not be won?

For generated workspaces with full stage history, pick as-of dates; at each, recompute the
benchmarks from the deals closed by then, score the deals open then (from the history known
then), and compare with how they ended. Prints the AUC of the stall score for "not won"
beside Odoo's rotting rule on the same deals (a deal rots when the days since its last stage
change exceed a fixed per-stage threshold; Odoo's default setting is one number for every
stage) and beside the raw days-since-stage-change (the rule at every threshold).

    uv run python bench/eval_stall.py                   # demo seeds 7 and 21 + a Salesforce export
    uv run python bench/eval_stall.py --deals 10000 --rot-days 30
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=4000)
    parser.add_argument("--seeds", default="7,21")
    parser.add_argument("--rot-days", type=int, default=30, help="Odoo's rotting threshold.")
    parser.add_argument(
        "--salesforce",
        type=int,
        default=4000,
        metavar="N",
        help="Also back-test an imported generated Salesforce export of N deals (0: skip).",
    )
    args = parser.parse_args()
    os.environ.setdefault("UNSTUCK_SECRET_KEY", "bench")
    os.environ["UNSTUCK_DATA_DIR"] = tempfile.mkdtemp(prefix="unstuck-evalstall-")
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "unstuck.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from unstuck.demo.generator import generate_demo

    call_command("migrate", verbosity=0)
    today = date(2026, 6, 1)
    print(f"Stall back-test · {args.deals:,} generated deals per workspace · SQLite")
    print("(machine: 2 cores shared with other engineers' jobs)\n")
    for seed in [int(s) for s in args.seeds.split(",")]:
        started = time.perf_counter()
        ws = generate_demo(
            deals=args.deals, seed=seed, today=today, slug=f"bt-{seed}", name=f"Back-test {seed}"
        ).workspace
        backtest(ws, today, args.rot_days, f"demo workspace seed {seed}", started)
    if args.salesforce:
        started = time.perf_counter()
        ws = import_salesforce_export(args.salesforce, today)
        backtest(ws, today, args.rot_days, "imported Salesforce export", started)
        print(
            "  (the export generator draws each outcome at random, independent of the history:\n"
            "   a null check — a back-test that peeked at the future would score above 0.5 here)"
        )


def import_salesforce_export(deals: int, today: date) -> object:
    """A generated Salesforce Data Export (Opportunity + OpportunityHistory) imported through
    `unstuck import salesforce`, as a team would bring theirs in."""
    from pathlib import Path

    from django.core.management import call_command

    from unstuck.core.models import Workspace
    from unstuck.imports.generator import generate_salesforce_export

    folder = Path(tempfile.mkdtemp(prefix="unstuck-evalstall-sf-"))
    files = generate_salesforce_export(folder, deals=deals, seed=3, today=today)
    quiet = io.StringIO()
    call_command(
        "workspace", "create", "--name", "Salesforce back-test", "--slug", "bt-sf", stdout=quiet
    )
    call_command(
        "import", "salesforce", "--workspace", "bt-sf",
        "--opportunities", str(files.opportunities), "--history", str(files.history),
        "--accounts", str(files.accounts), "--users", str(files.users), stdout=quiet,
    )  # fmt: skip
    return Workspace.objects.get(slug="bt-sf")


def backtest(ws: object, today: date, rot_days: int, label: str, started: float) -> None:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from unstuck.deals.models import Deal
    from unstuck.investigate.benchmarks import benchmarks_recompute
    from unstuck.investigate.stall_signals import SIGNALS, signal_rows

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
            rot.append(1 if d > rot_days else 0)
            for code in SIGNALS:
                fired[code].append(row[f"f_{code}"])
    ya = np.array(y)
    print(
        f"{label}: {len(y):,} deal snapshots at 4 as-of dates "
        f"({ya.mean():.0%} not won), {time.perf_counter() - started:.1f} s"
    )
    print(f"  {'AUC for not won':<46}{roc_auc_score(ya, score):.3f}  stall score")
    print(f"  {'':<46}{roc_auc_score(ya, rot):.3f}  Odoo rotting rule (> {rot_days} d)")
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
