"""Win model evaluation: 5-fold AUC, Brier score and expected calibration error, with the
stage-only baseline beside it, on a workspace's closed deals.

    # any workspace in an existing database (e.g. the IBM sales win/loss data set once it
    # is imported through its shipped mapping):
    UNSTUCK_DATA_DIR=./unstuck-data uv run python bench/eval_win_model.py --workspace ibm
    # self-contained: a generated demo workspace in a throwaway database
    uv run python bench/eval_win_model.py --demo 3000
    # provisional, until the shipped IBM mapping is merged: load the CSV directly (every
    # column but the outcome as a custom attribute, the amount as the amount)
    uv run python bench/eval_win_model.py \
        --ibm-direct /work/shared/data/ibm-sales-win-loss/WA_Fn-UseC_-Sales-Win-Loss.csv

Targets for the IBM data set (issue 4): AUC >= 0.83, ECE <= 0.03.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def load_ibm(path: str) -> object:
    """Each row a closed deal with no stage history and no dates; the outcome becomes the
    deal's status and the other columns its custom attributes."""
    import csv
    from datetime import UTC, datetime
    from decimal import Decimal

    from unstuck.core.models import Workspace
    from unstuck.deals.models import Deal, Pipeline, Stage

    ws = Workspace.objects.create(name="IBM sales win/loss", slug="ibm")
    pipeline = Pipeline.objects.create(workspace=ws, name="Sales", is_default=True)
    won = Stage.objects.create(pipeline=pipeline, name="Won", order=0, kind="won")
    lost = Stage.objects.create(pipeline=pipeline, name="Loss", order=1, kind="lost")
    created = datetime(2015, 1, 1, tzinfo=UTC)
    deals = []
    with open(path, newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f)):
            result = row.pop("Opportunity Result")
            number = row.pop("Opportunity Number")
            custom: dict[str, object] = {}
            for key, value in row.items():
                try:
                    custom[key] = float(value)
                except ValueError:
                    custom[key] = value
            deals.append(
                Deal(
                    workspace=ws,
                    name=f"Opportunity {number}",
                    pipeline=pipeline,
                    stage=won if result == "Won" else lost,
                    status="won" if result == "Won" else "lost",
                    amount=Decimal(row["Opportunity Amount USD"]),
                    created_at=created,
                    stage_entered_at=created,
                    source="ibm",
                    external_id=f"{number}-{n}",
                    custom=custom,
                )
            )
    Deal.objects.bulk_create(deals, batch_size=5000)
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", help="Slug of an existing workspace.")
    parser.add_argument("--demo", type=int, help="Generate a demo workspace with this many deals.")
    parser.add_argument("--ibm-direct", help="Path of the IBM CSV, loaded without the importer.")
    parser.add_argument(
        "--holdout", action="store_true", help="Time-ordered holdout instead of 5 folds."
    )
    args = parser.parse_args()
    if not args.workspace and not args.demo and not args.ibm_direct:
        parser.error("give --workspace SLUG, --demo N or --ibm-direct PATH")
    os.environ.setdefault("UNSTUCK_SECRET_KEY", "bench")
    if args.demo or args.ibm_direct:
        os.environ["UNSTUCK_DATA_DIR"] = tempfile.mkdtemp(prefix="unstuck-evalwin-")
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "unstuck.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from unstuck.core.models import Workspace
    from unstuck.investigate.evaluation import win_model_evaluate

    if args.ibm_direct:
        call_command("migrate", verbosity=0)
        workspace = load_ibm(args.ibm_direct)
    elif args.demo:
        call_command("migrate", verbosity=0)
        from datetime import date

        from unstuck.demo.generator import generate_demo

        workspace = generate_demo(deals=args.demo, seed=5, today=date(2026, 6, 1)).workspace
    else:
        workspace = Workspace.objects.get(slug=args.workspace)
    started = time.perf_counter()
    result = win_model_evaluate(workspace=workspace, folds=not args.holdout)
    took = time.perf_counter() - started
    print(f"Win model · workspace {workspace.slug} · {result.closed_deals:,} closed deals")
    print(f"{result.method}, {result.test_deals:,} deals scored, {took:.0f} s")
    print("(machine: 2 cores shared with other engineers' jobs)\n")
    print(f"{'':28}{'AUC':>8}{'Brier':>8}{'ECE':>8}")
    for label, s in [
        (f"model ({result.model_kind})", result.model),
        ("stage-only baseline", result.baseline),
    ]:
        print(f"{label:28}{s.auc:>8.3f}{s.brier:>8.3f}{s.ece:>8.3f}")


if __name__ == "__main__":
    main()
