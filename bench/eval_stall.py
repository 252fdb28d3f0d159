"""Back-test of the stall score: does it pick out the deals that will not be won?

Per dataset and as-of date D: everything is learnt from what was known at D (benchmarks from
the deals closed by D, the learnt model from landmarks whose horizon had passed by D), the
deals open at D are scored from the history known then, and compared with how they ended
(deals still open today are left out). AUC for "not won", for:

- stall score: what Unstuck shows (the learnt model, or the best baseline when its own
  back-test at D did not show the learnt model better beyond noise, or the history was too
  thin: marked *);
- learnt model: the learnt model itself, whether or not it was chosen;
- the baselines: the stage's not-won rate (from the landmarks known at D), raw days in
  stage, Odoo's rotting rule at 30 days and at the day's median, and the old fixed-weight
  score ("rules").

"best baseline" is the best of the four baselines at D *in hindsight* (on the deals being
scored), which no method can know beforehand. "margin" is the stall score's AUC minus it, with
a 90 % interval from resampling the deals scored (1,000 times); "ok" when the interval reaches
zero or above (the stall score is not worse beyond noise), "WORSE" when it lies wholly below.
The chooser's own back-test at D is in the note: the learnt model's AUC minus the best
baseline's on the latest landmarks, with its one-sided 95 % bounds.

    uv run python bench/eval_stall.py                 # Maven export + demo seeds 7 and 21
    uv run python bench/eval_stall.py --datasets maven --dates 2017-05-01,2017-07-01

Datasets: `maven` (../shared/data/maven-crm-sales-opportunities through the shipped mapping:
a real, short history — engage and close dates), `demo` (the demo generator). The IBM
Win-Loss data carries no stage history (one row per opportunity, durations only), so it
cannot be replayed as of a date and is not part of this back-test.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAVEN = REPO / ".." / "shared" / "data" / "maven-crm-sales-opportunities"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="maven,demo")
    parser.add_argument("--deals", type=int, default=4000, help="Demo deals per seed.")
    parser.add_argument("--seeds", default="7,21")
    parser.add_argument("--dates", default="", help="Comma-separated as-of dates (Maven).")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="unstuck-evalstall-")
    os.environ.setdefault("UNSTUCK_SECRET_KEY", "bench")
    os.environ["UNSTUCK_DATA_DIR"] = folder
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "unstuck.settings"
    try:
        run(args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print("Stall back-test · AUC for 'not won' · SQLite · 2-core machine shared with others\n")
    results: list[tuple[str, str, dict[str, float], str]] = []
    datasets = args.datasets.split(",")
    if "maven" in datasets:
        if not MAVEN.exists():
            print(f"maven: skipped, {MAVEN} not found\n")
        else:
            ws = import_maven()
            dates = (
                [date.fromisoformat(d) for d in args.dates.split(",")]
                if args.dates
                else [date(2017, m, 1) for m in (4, 5, 6, 7, 8, 9)]
            )
            for day in dates:
                results.append(("maven", str(day), *backtest(ws, day)))
    if "demo" in datasets:
        from unstuck.demo.generator import generate_demo

        today = date(2026, 6, 1)
        for seed in [int(s) for s in args.seeds.split(",")]:
            ws = generate_demo(
                deals=args.deals, seed=seed, today=today, slug=f"bt-{seed}", name=f"BT {seed}"
            ).workspace
            for weeks in (40, 32, 24, 16):
                day = today - timedelta(weeks=weeks)
                results.append((f"demo seed {seed}", str(day), *backtest(ws, day)))
    print_table(results)


def import_maven() -> object:
    from django.core.management import call_command

    from unstuck.core.models import Workspace

    quiet = io.StringIO()
    call_command("workspace", "create", "--name", "Maven", "--slug", "maven", stdout=quiet)
    call_command(
        "import", "csv", "--workspace", "maven",
        "--mapping", str(REPO / "examples" / "mappings" / "maven-crm.toml"),
        str(MAVEN / "sales_pipeline.csv"), stdout=quiet,
    )  # fmt: skip
    return Workspace.objects.get(slug="maven")


COLUMNS = [
    ("stall", "stall score"),
    ("learnt", "learnt"),
    ("stage_rate", "stage rate"),
    ("days_in_stage", "days in st."),
    ("rot30", "rot 30 d"),
    ("rot_median", "rot median"),
    ("rules", "rules"),
]
BASELINE_KEYS = ["stage_rate", "days_in_stage", "rot30", "rot_median"]


def backtest(ws: object, day: date) -> tuple[dict[str, float], str]:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from unstuck.deals.models import Deal
    from unstuck.investigate import stall_score
    from unstuck.investigate.stall_signals import signal_rows

    started = time.perf_counter()
    as_of = datetime.combine(day, datetime.max.time(), UTC).replace(microsecond=0)
    snaps = stall_score.landmark_snapshots(ws, known_at=as_of)  # type: ignore[arg-type]
    chosen = stall_score.stall_model_fit(ws, known_at=as_of, snaps=snaps)  # type: ignore[arg-type]
    outcome = dict(
        Deal.objects.filter(workspace=ws).exclude(status="open").values_list("pk", "status")
    )
    rows = [r for r in signal_rows(ws, as_of=as_of) if r["deal_id"] in outcome]  # type: ignore[arg-type]
    out: dict[str, float] = {"n": len(rows), "snapshots": len(snaps.rows)}
    if not rows:
        return out, "no deals"
    y = np.array([1 if outcome[r["deal_id"]] != "won" else 0 for r in rows])
    out["not_won"] = float(y.mean())
    if len(set(y.tolist())) < 2:
        return out, "one outcome only"

    def auc(score: object) -> float:
        return float(roc_auc_score(y, score))

    days = np.array([float(r["days_in_stage"] or 0) for r in rows])
    out["rules"] = auc([r["stall_score"] for r in rows])
    out["days_in_stage"] = auc(days)
    out["rot30"] = auc((days > 30).astype(int))
    out["rot_median"] = auc((days > np.median(days)).astype(int))
    stall = (
        chosen.probabilities(rows)
        if chosen.method != "rules"
        else np.array([r["stall_score"] for r in rows], dtype=float)
    )
    out["stall"] = auc(stall)
    baselines = {
        "days_in_stage": days,
        "rot30": (days > 30).astype(float),
        "rot_median": (days > np.median(days)).astype(float),
    }
    note = "" if chosen.method == "learnt" else f"* {chosen.method}"
    bt = chosen.backtest
    if "vs_best_low" in bt:
        note += (
            f" (back-test at D: learnt {bt['learnt']:.3f}, vs best baseline "
            f"{bt['vs_best_low']:+.3f}..{bt['vs_best_high']:+.3f})"
        )
    elif chosen.reason:
        note += f" ({chosen.reason})"
    if snaps.rows and len(set(snaps.y.tolist())) == 2:
        learnt = stall_score.fit_method(snaps, "learnt", known_at=as_of)
        out["learnt"] = auc(learnt.probabilities(rows))
        stage = stall_score.fit_method(snaps, "stage_rate", known_at=as_of)
        baselines["stage_rate"] = stage.probabilities(rows)
        out["stage_rate"] = auc(baselines["stage_rate"])
        weights = ", ".join(f"{code} {w:.2f}" for code, w in learnt.weights.items() if w != 1.0)
        note += f" [{time.perf_counter() - started:.0f} s; signal weights: {weights or 'none'}]"
    best = max(BASELINE_KEYS, key=lambda k: out.get(k, -1.0))
    out["margin_low"], out["margin_high"] = margin_interval(y, stall, baselines[best])
    return out, note


def margin_interval(
    y: object, score: object, baseline: object, reps: int = 1000
) -> tuple[float, float]:
    """90 % interval on AUC(score) - AUC(baseline), resampling the deals."""
    import numpy as np

    from unstuck.investigate.stall_score import weighted_auc

    y_a, s_a, b_a = (np.asarray(v, dtype=float) for v in (y, score, baseline))
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(reps):
        w = np.bincount(rng.integers(0, len(y_a), len(y_a)), minlength=len(y_a)).astype(float)
        diffs.append(weighted_auc(y_a, s_a, w) - weighted_auc(y_a, b_a, w))
    low, high = np.quantile(np.array(diffs), [0.05, 0.95])
    return float(low), float(high)


def print_table(results: list[tuple[str, str, dict[str, float], str]]) -> None:
    head = f"{'dataset':<14}{'as of':<12}{'deals':>6}{'not won':>8}"
    head += "".join(f"{label:>12}" for _, label in COLUMNS)
    head += "  best baseline  margin  90% interval     verdict"
    print(head)
    wins = ok = 0
    for name, day, r, note in results:
        cells = "".join(f"{r[k]:>12.3f}" if k in r else f"{'—':>12}" for k, _ in COLUMNS)
        best = max((r[k] for k in BASELINE_KEYS if k in r), default=float("nan"))
        margin = r.get("stall", float("nan")) - best
        wins += margin >= 0
        low, high = r.get("margin_low", float("nan")), r.get("margin_high", float("nan"))
        fine = not high < 0
        ok += fine
        print(
            f"{name:<14}{day:<12}{int(r['n']):>6}{r.get('not_won', float('nan')):>8.0%}"
            f"{cells}{best:>15.3f}{margin:>+8.3f}  {low:+.3f}..{high:+.3f}"
            f"  {'ok' if fine else 'WORSE':>7}  {note}"
        )
    print(
        f"\nstall score ≥ best baseline (point estimate) on {wins} of {len(results)} dataset-dates"
    )
    print(
        f"stall score not worse than the best baseline beyond noise on {ok} of {len(results)}: "
        f"{'PASS' if ok == len(results) else 'FAIL'}"
    )
    print("(* the learnt model was not used at that date: the named baseline scored instead)")


if __name__ == "__main__":
    main()
