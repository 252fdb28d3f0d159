"""The outcome estimator's speed: the cohort builder for 1,000 treated moments in a
100,000-deal workspace, and compare() on 1,000 treated / 20,000 comparison subjects. Prints
each figure with its target and PASS/FAIL.

    uv run python bench/estimator_bench.py                  # SQLite, 100,000 deals
    uv run python bench/estimator_bench.py --db postgres
    uv run python bench/estimator_bench.py --deals 20000

The generated workspace is kept (SQLite: /tmp/estimator-bench-<deals>/, PostgreSQL:
database estimator_bench_<deals>) and reused by the next run; --fresh rebuilds it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")
COHORT_TARGET_S = 2.0
COMPARE_TARGET_S = 0.5


def _setup(args: argparse.Namespace) -> bool:
    """Point Django at the bench database; True when the workspace must be generated."""
    os.environ.setdefault("UNSTUCK_SECRET_KEY", "bench")
    data_dir = f"/tmp/estimator-bench-{args.deals}"
    os.environ["UNSTUCK_DATA_DIR"] = data_dir
    if args.db == "postgres":
        import psycopg

        name = f"estimator_bench_{args.deals}"
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and not args.fresh:
                return False
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            c.execute(f"CREATE DATABASE {name}")
        return True
    os.environ.pop("DATABASE_URL", None)
    if args.fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    return not os.path.exists(os.path.join(data_dir, "unstuck.sqlite3"))


def _treated_moments(workspace: Any, n: int, seed: int) -> list[Any]:
    """n moments at which a deal was open in an open stage: random history rows, a random
    point of the time until the deal's next change."""
    from django.utils.dateparse import parse_datetime

    from unstuck.insights.cohorts import TreatedMoment
    from unstuck.investigate.sql import fetch_dicts

    rows = fetch_dicts(
        """
        WITH h AS (
          SELECT sc.deal_id, sc.changed_at, st.kind,
            LEAD(sc.changed_at) OVER (PARTITION BY sc.deal_id ORDER BY sc.changed_at, sc.id)
              AS next_at
          FROM deals_stagechange sc
          JOIN deals_stage st ON st.id = sc.to_stage_id
          JOIN deals_deal d ON d.id = sc.deal_id
          WHERE d.workspace_id = %s AND d.id %% 37 = 0
        )
        SELECT deal_id, changed_at, next_at FROM h WHERE kind = 'open'
        """,
        [workspace.pk],
    )
    rng = random.Random(seed)
    rng.shuffle(rows)
    now = datetime.now(UTC)

    def aware(value: object) -> datetime:
        moment = value if isinstance(value, datetime) else parse_datetime(str(value))
        assert moment is not None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    out = []
    for r in rows[:n]:
        start = aware(r["changed_at"])
        end = min(aware(r["next_at"]), now) if r["next_at"] else now
        out.append(TreatedMoment(deal_id=r["deal_id"], at=start + (end - start) * rng.random()))
    return out


def _line(label: str, figure: float, target: float, cpu: float) -> bool:
    ok = figure <= target
    print(
        f"{label:<52}{figure:>7.2f} s  target {target:.1f} s  ratio {figure / target:.2f}  "
        + ("PASS" if ok else "FAIL")
        + f"   (CPU: {cpu:.2f} s)"
    )
    return ok


def _cpu() -> float:
    """CPU seconds used so far by this process and, on PostgreSQL, by its server process
    (read from /proc: the database runs on this machine), so the figure under load says
    what an idle machine would take."""
    from django.db import connection

    used = time.process_time()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def _median_run(fn: Callable[[], T], repeats: int) -> tuple[float, float, T]:
    """Median wall time and median CPU time (this process and its database) of `repeats`
    calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), _cpu()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--treated", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="Regenerate the workspace.")
    args = parser.parse_args()
    generate = _setup(args)
    os.environ["DJANGO_SETTINGS_MODULE"] = "unstuck.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from unstuck.core.models import Workspace
    from unstuck.demo.generator import generate_demo
    from unstuck.insights.cohorts import build_cohort
    from unstuck.insights.estimator import compare
    from unstuck.insights.estimator.simulation import Scenario, simulate

    print(f"Outcome estimator · {args.deals:,} deals · {args.db}")
    if generate:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        generate_demo(deals=args.deals, seed=1, activity_rate=0.15)
        print(f"demo generated in {time.perf_counter() - started:.0f} s")
    workspace = Workspace.objects.get(slug="demo")
    treated = _treated_moments(workspace, args.treated, seed=1)
    print(
        "machine: 2 cores shared with other engineers' jobs, load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    wall, cpu, cohort = _median_run(
        lambda: build_cohort(workspace=workspace, treated=treated),
        args.repeats,
    )
    print(
        f"cohort: {len(cohort.treated):,} treated subjects ({len(cohort.skipped)} skipped), "
        f"{len(cohort.comparison):,} comparison subjects from "
        f"{len({s.deal_id for s in cohort.comparison}):,} deals"
    )
    ok = _line(f"build_cohort, {len(treated):,} treated moments", wall, COHORT_TARGET_S, cpu)
    wall, cpu, _ = _median_run(lambda: compare(cohort.treated, cohort.comparison), args.repeats)
    ok &= _line("compare() on that cohort", wall, COMPARE_TARGET_S, cpu)
    # The stated size, 1,000 vs 20,000, spread over ~600 strata as a real cohort is.
    t_sim, c_sim = simulate(Scenario(speed=1.3), n_treated=1000, n_comparison=20_000, seed=3)
    rng = random.Random(3)
    strata = {s.deal_id: rng.randrange(200) for s in [*t_sim, *c_sim]}
    t_sim = [replace(s, stratum=(s.stratum, strata[s.deal_id])) for s in t_sim]
    c_sim = [replace(s, stratum=(s.stratum, strata[s.deal_id])) for s in c_sim]
    wall, cpu, _ = _median_run(lambda: compare(t_sim, c_sim), args.repeats)
    ok &= _line("compare(), 1,000 treated / 20,000 comparison", wall, COMPARE_TARGET_S, cpu)
    print(
        f"Figures are medians of {args.repeats} runs. CPU: seconds of processor used by this "
        "process and its PostgreSQL server process, what an idle machine would take."
    )
    print("all targets:", "PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
