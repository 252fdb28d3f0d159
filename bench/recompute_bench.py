"""The recompute at 100,000 deals: full (first scoring, with both models trained), full with
the models kept (the nightly rescoring of every deal), and incremental after a day's edits
(1 % of the open deals get an activity or a stage move), on SQLite and PostgreSQL.

Target (issue 16): a full recompute at 100,000 deals under 60 s. Peak memory of the process
beside every time (bench/common.py). Each recompute is broken down by phase (benchmarks, the
win model's training, the stall score's landmarks and its fit and back-test, the scoring
statement, the win predictions, the rest: digests, describing and writing), each with its
wall time, this process's CPU and, on PostgreSQL, the database backend's CPU (read from
/proc: the server runs on this machine): CPU is what a shared machine disturbs least.

    uv run python bench/recompute_bench.py                       # 100,000 deals, both databases
    uv run python bench/recompute_bench.py --db sqlite --deals 20000
    uv run python bench/recompute_bench.py --db postgres --build-only --keep   # once, then
    uv run python bench/recompute_bench.py --db postgres --template <kept database>
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BenchRun, machine, peak_rss_mb, per_backend, summary, verdict


class Phases:
    """Wall, process CPU and backend CPU per phase of a recompute, by wrapping the functions
    `assessments_recompute` calls (nested phases are subtracted from their parent)."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = {}
        self._stack: list[str] = []

    @staticmethod
    def backend_cpu() -> float:
        from django.db import connection

        if connection.vendor != "postgresql":
            return 0.0
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def now(self) -> tuple[float, float, float]:
        return time.perf_counter(), time.process_time(), self.backend_cpu()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = self.now()
        self._stack.append(name)
        try:
            yield
        finally:
            self._stack.pop()
            spent = [b - a for a, b in zip(start, self.now(), strict=True)]
            mine = self.totals.setdefault(name, [0.0, 0.0, 0.0])
            for i, v in enumerate(spent):
                mine[i] += v
            if self._stack:  # not counted twice: the parent's figure is its own time
                parent = self.totals.setdefault(self._stack[-1], [0.0, 0.0, 0.0])
                for i, v in enumerate(spent):
                    parent[i] -= v

    def wrap(self, module: object, attr: str, name: str) -> None:
        original: Callable[..., object] = getattr(module, attr)

        def timed(*args: object, **kwargs: object) -> object:
            with self.phase(name):
                return original(*args, **kwargs)

        setattr(module, attr, timed)

    def report(self) -> None:
        for name, (wall, cpu, backend) in self.totals.items():
            print(
                f"   {name:<34} {wall:7.1f} s wall  {cpu:6.1f} s CPU  {backend:6.1f} s backend CPU",
                flush=True,
            )
        self.totals.clear()


def run(
    db: str, deals: int, template: str | None, *, keep: bool = False, build_only: bool = False
) -> None:
    with BenchRun("recompute", db=db, template=template, keep=keep) as bench:
        from django.utils import timezone

        from unstuck.core.models import Workspace
        from unstuck.deals.models import Activity, Deal, StageChange
        from unstuck.demo.generator import generate_demo
        from unstuck.investigate import services, stall_score, winmodel
        from unstuck.investigate.services import assessments_recompute

        phases = Phases()
        phases.wrap(services, "benchmarks_recompute", "benchmarks")
        phases.wrap(winmodel, "win_model_train", "win model training")
        phases.wrap(stall_score, "stall_model_train", "stall score: fit and back-test")
        phases.wrap(stall_score, "landmark_snapshots", "stall score: landmark snapshots")
        phases.wrap(services, "deal_inputs", "input digests")
        phases.wrap(services, "signal_rows", "scoring statement")
        phases.wrap(winmodel, "predict", "win predictions")

        ws = Workspace.objects.filter(slug="demo").first()
        if ws is None:
            started = time.perf_counter()
            ws = generate_demo(deals=deals, seed=1, activity_rate=0.15).workspace
            print(f"demo: {deals:,} deals in {time.perf_counter() - started:.0f} s; "
                  f"ANALYZE {bench.analyze():.1f} s", flush=True)  # fmt: skip
        if build_only:  # a template for later runs: the data, never scored
            return

        def timed(label: str, **kw: bool) -> float:
            with phases.phase("the rest (describe, write, ANALYZE)"):
                started = time.perf_counter()
                result = assessments_recompute(workspace=ws, **kw)
                took = time.perf_counter() - started
            how = "every deal" if result.full else f"{result.kept:,} kept"
            print(
                f"{label}: {took:.1f} s, {result.assessed:,} scored ({how}), "
                f"peak RSS {peak_rss_mb():.0f} MB · {machine()}",
                flush=True,
            )
            phases.report()
            return took

        first = timed("full, training both models", retrain=True)
        nightly = timed("full, models kept")
        open_ids = list(
            Deal.objects.filter(workspace=ws, status="open").values_list("pk", "stage_id")
        )
        now = timezone.now()
        edited = open_ids[::100]  # 1 %
        Activity.objects.bulk_create(
            [Activity(deal_id=pk, kind="call", occurred_at=now) for pk, _ in edited[::2]]
        )
        StageChange.objects.bulk_create(
            [
                StageChange(deal_id=pk, from_stage_id=stage, to_stage_id=stage,
                            changed_at=now - timedelta(minutes=1))
                for pk, stage in edited[1::2]
            ]
        )  # fmt: skip
        print(f"a day's edits: {len(edited):,} of {len(open_ids):,} open deals", flush=True)
        incremental = timed("incremental, models kept", incremental=True)
        verdict("full recompute, training both models", first, under=60, unit="s")
        verdict("full recompute, models kept", nightly, under=60, unit="s")
        verdict(
            "incremental after 1 % edits",
            incremental,
            unit="s",
            reference=nightly,
            reference_label="full",
            ratio_under=1,
        )
        summary(f"recompute_bench {deals:,} deals {db}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--template", help="Start from a copy of this database (see common.py).")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument(
        "--build-only", action="store_true", help="Generate the data and stop (with --keep)."
    )
    args = parser.parse_args()
    if args.db == "both":
        sys.exit(per_backend(__file__, ["--deals", str(args.deals)], ["sqlite", "postgres"]))
    run(args.db, args.deals, args.template, keep=args.keep, build_only=args.build_only)


if __name__ == "__main__":
    main()
