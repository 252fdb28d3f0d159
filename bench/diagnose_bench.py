"""Diagnose at scale: 1,000,000 open deals with 5,000,000 stage-history rows on PostgreSQL,
and the same signal statement in DuckDB over the same data as a reference.

Builds the data set with set-based SQL (generate_series) in a database of its own
(bench/common.py: a unique name, dropped afterwards unless --keep): open deals in five
stages with their stage moves plus two close-date/amount updates each, 20,000 won deals for
the benchmarks, two activities per open deal and a buying committee on two deals in three.
Then, on the same workspace:
  1. benchmarks_recompute (percentiles over the won deals' history);
  2. the signal statement the app runs (signals.signal_statement), aggregated in the
     database, twice: wall time and the CPU time of the PostgreSQL backend and its
     parallel workers (what a busy machine disturbs least);
  3. `unstuck diagnose --format csv` in a child process: every row streamed to a file,
     with the child's wall time and peak RSS;
  4. the same statement in DuckDB (in a child process, over the same tables exported as
     CSV), twice, with its wall and CPU time and peak RSS.

Targets (issue 16): the diagnose command under 500 MB peak RSS, and the statement within
2x DuckDB (compared on wall time, and on CPU time when the machine is busy).
PostgreSQL settings assumed: the server's defaults (work_mem 4MB, max_parallel_workers_per_gather
2, jit on); the statement runs in the app's analytic transaction, which sets enable_nestloop,
cursor_tuple_fraction and, for this statement, JIT without inlining for itself (jit on,
jit_inline_above_cost -1; investigate/sql.py). Nothing is tuned for the
bench; the tables are VACUUM ANALYZEd after loading, as autovacuum would have done.

    uv run python bench/diagnose_bench.py                      # 1,000,000 open deals
    uv run python bench/diagnose_bench.py --deals 100000       # a quicker look
    uv run python bench/diagnose_bench.py --deals 100000 --keep   # then --template <name>
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import BenchRun, machine, summary, temp_folder, verdict  # noqa: E402

WON = 20_000


def build(deals: int) -> Any:
    from django.db import connection

    from unstuck.core.models import Workspace
    from unstuck.deals.models import Pipeline, Stage

    ws = Workspace.objects.create(name="Bench", slug="bench")
    pipeline = Pipeline.objects.create(workspace=ws, name="New business", is_default=True)
    for i, (name, kind) in enumerate(
        [("Qualification", "open"), ("Discovery", "open"), ("Solution", "open"),
         ("Proposal", "open"), ("Negotiation", "open"), ("Closed won", "won"),
         ("Closed lost", "lost")]
    ):  # fmt: skip
        Stage.objects.create(pipeline=pipeline, name=name, order=i, kind=kind)
    p = {"ws": ws.pk, "pipe": pipeline.pk, "n": deals, "won": WON}
    statements = [
        # Open deals: stage order = id % 5, 1 to 40 days in it, 20 days in each earlier stage.
        """INSERT INTO deals_deal (workspace_id, name, pipeline_id, stage_id, status, amount,
             currency, close_date, created_at, closed_at, stage_entered_at, last_activity_at,
             next_step, source, external_id, custom, updated_at)
           SELECT %(ws)s, 'Deal ' || g, %(pipe)s, st.id, 'open',
             5000 + (g::bigint * 7919) %% 200000, 'USD',
             (now() + ((g %% 120) - 30) * interval '1 day')::date,
             now() - ((g %% 5) * 20 + 1 + (g * 31) %% 40) * interval '1 day', NULL,
             now() - (1 + (g * 31) %% 40) * interval '1 day', NULL,
             CASE WHEN g %% 6 = 0 THEN '' ELSE 'Call' END, 'bench', 'B-' || g, '{}', now()
           FROM generate_series(1, %(n)s) g
           JOIN deals_stage st ON st.pipeline_id = %(pipe)s AND st."order" = g %% 5""",
        # Won deals: 15 to 24 days in each open stage.
        """INSERT INTO deals_deal (workspace_id, name, pipeline_id, stage_id, status, amount,
             currency, close_date, created_at, closed_at, stage_entered_at, last_activity_at,
             next_step, source, external_id, custom, updated_at)
           SELECT %(ws)s, 'Won ' || g, %(pipe)s, st.id, 'won', 20000, 'USD',
             (now() - interval '30 days')::date, now() - interval '400 days',
             now() - interval '300 days', now() - interval '300 days', NULL, '', 'bench',
             'W-' || g, '{}', now()
           FROM generate_series(1, %(won)s) g
           JOIN deals_stage st ON st.pipeline_id = %(pipe)s AND st."order" = 5""",
        # Stage moves of the open deals, one per stage up to the current one.
        """INSERT INTO deals_stagechange (deal_id, from_stage_id, to_stage_id, changed_at,
             amount, close_date, source)
           SELECT d.id, prev.id, s.id, d.created_at + i * 20 * interval '1 day', d.amount,
             d.close_date - 60, 'bench'
           FROM deals_deal d JOIN deals_stage cur ON cur.id = d.stage_id
           JOIN generate_series(0, 4) i ON i <= cur."order"
           JOIN deals_stage s ON s.pipeline_id = d.pipeline_id AND s."order" = i
           LEFT JOIN deals_stage prev ON prev.pipeline_id = d.pipeline_id AND prev."order" = i - 1
           WHERE d.workspace_id = %(ws)s AND d.status = 'open'""",
        # Two in-place updates in the current stage: on one deal in four the close date is pushed
        # out, on one in seven the amount cut.
        """INSERT INTO deals_stagechange (deal_id, from_stage_id, to_stage_id, changed_at,
             amount, close_date, source)
           SELECT d.id, d.stage_id, d.stage_id,
             d.stage_entered_at + (now() - d.stage_entered_at) * (k / 3.0),
             CASE WHEN k = 2 AND d.id %% 7 = 0 THEN d.amount * 0.7 ELSE d.amount END,
             d.close_date - 60 + CASE WHEN d.id %% 4 = 0 THEN k * 30 ELSE 0 END, 'bench'
           FROM deals_deal d JOIN generate_series(1, 2) k ON true
           WHERE d.workspace_id = %(ws)s AND d.status = 'open'""",
        # Won deals' history: five open stages then won.
        """INSERT INTO deals_stagechange (deal_id, from_stage_id, to_stage_id, changed_at,
             amount, close_date, source)
           SELECT d.id, prev.id, s.id,
             d.created_at + (i * 15 + (d.id * (i + 3)) %% 10) * interval '1 day', d.amount,
             d.close_date, 'bench'
           FROM deals_deal d JOIN generate_series(0, 5) i ON true
           JOIN deals_stage s ON s.pipeline_id = d.pipeline_id AND s."order" = i
           LEFT JOIN deals_stage prev ON prev.pipeline_id = d.pipeline_id AND prev."order" = i - 1
           WHERE d.workspace_id = %(ws)s AND d.status = 'won'""",
        """UPDATE deals_deal d SET closed_at = sc.changed_at, stage_entered_at = sc.changed_at
           FROM deals_stagechange sc WHERE sc.deal_id = d.id AND d.status = 'won'
             AND sc.to_stage_id = d.stage_id AND d.workspace_id = %(ws)s""",
        # Activities: two per open deal, one every four days on the won deals.
        """INSERT INTO deals_activity (deal_id, kind, occurred_at, direction, summary, source,
             external_id)
           SELECT d.id, 'email', now() - ((d.id * 13 + j * 17) %% 45) * interval '1 day',
             'outbound', '', 'bench', ''
           FROM deals_deal d JOIN generate_series(1, 2) j ON true
           WHERE d.workspace_id = %(ws)s AND d.status = 'open'""",
        """INSERT INTO deals_activity (deal_id, kind, occurred_at, direction, summary, source,
             external_id)
           SELECT d.id, 'call', d.created_at + j * 4 * interval '1 day', 'outbound', '',
             'bench', ''
           FROM deals_deal d JOIN generate_series(0, 20) j ON true
           WHERE d.workspace_id = %(ws)s AND d.status = 'won'""",
        """INSERT INTO deals_contact (workspace_id, name, title, email, phone, source,
             external_id)
           SELECT %(ws)s, 'Contact ' || g, '', '', '', 'bench', ''
           FROM generate_series(1, 200000) g""",
        # Committees on two deals in three: a champion, and an economic buyer on half.
        """INSERT INTO deals_stakeholder (deal_id, contact_id, buying_role, influence, stance,
             notes, created_at, updated_at)
           SELECT d.id, c0.id + (d.id * 7) %% 199990, 'champion', 2, 'supporter', '',
             d.created_at, now()
           FROM deals_deal d, (SELECT min(id) AS id FROM deals_contact) c0
           WHERE d.workspace_id = %(ws)s AND d.status = 'open' AND d.id %% 3 <> 0""",
        """INSERT INTO deals_stakeholder (deal_id, contact_id, buying_role, influence, stance,
             notes, created_at, updated_at)
           SELECT d.id, c0.id + (d.id * 7 + 1) %% 199990, 'economic_buyer', 3, 'neutral', '',
             d.created_at, now()
           FROM deals_deal d, (SELECT min(id) AS id FROM deals_contact) c0
           WHERE d.workspace_id = %(ws)s AND d.status = 'open' AND d.id %% 6 = 1""",
        "ANALYZE",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, p)
    return ws


def counts() -> dict[str, int]:
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for table in ["deals_deal", "deals_stagechange", "deals_activity", "deals_stakeholder"]:
            cursor.execute(f"SELECT count(*) FROM {table}")
            out[table] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM deals_deal WHERE status = 'open'")
        out["open deals"] = cursor.fetchone()[0]
    return out


def signal_sql(ws: Any) -> tuple[str, list[Any]]:
    """The exact statement the app runs for 'now' (diagnose, the recompute), aggregated to
    one row so that what is timed is the database's work, not the transfer."""
    from unstuck.investigate.stall_signals import SIGNALS, signal_statement

    sql, params, _ = signal_statement(ws)
    summary_sql = (
        "SELECT count(*), sum(stall_score), "
        + ", ".join(f"sum(f_{code})" for code in SIGNALS)
        + f" FROM ({sql}) q"
    )
    return summary_sql, params


def _backend_cpu(pids: list[int]) -> float:
    """CPU seconds the PostgreSQL processes have used (same machine: /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def time_in_postgres(sql: str, params: list[Any]) -> tuple[float, float, tuple[Any, ...]]:
    """Wall and CPU seconds of one run of the statement in PostgreSQL. The CPU counts the
    backend and the parallel workers it starts (sampled while it runs)."""
    import threading

    from django.db import connection

    from unstuck.investigate.sql import analytic_transaction

    # In the transaction the app runs it in (its planner settings: investigate/sql.py).
    with analytic_transaction(jit=True), connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
        workers: dict[int, float] = {}
        done = threading.Event()

        def sample() -> None:  # parallel workers come and go: keep their last CPU figure
            import psycopg

            with psycopg.connect(BENCH_URL, autocommit=True) as watch:
                while not done.wait(0.05):
                    rows = watch.execute(
                        "SELECT pid FROM pg_stat_activity WHERE leader_pid = %s", [backend]
                    ).fetchall()
                    for (pid,) in rows:
                        workers[pid] = max(workers.get(pid, 0.0), _backend_cpu([pid]))

        watcher = threading.Thread(target=sample, daemon=True)
        watcher.start()
        cpu0, t0 = _backend_cpu([backend]), time.perf_counter()
        cursor.execute(sql, params)
        result = cursor.fetchone()
        wall = time.perf_counter() - t0
        cpu = _backend_cpu([backend]) - cpu0
        done.set()
        watcher.join()
    return wall, cpu + sum(workers.values()), tuple(result)


BENCH_URL = ""


def literal(sql: str, params: list[Any]) -> str:
    """Inline the parameters (DuckDB gets the same text, no driver in between)."""
    parts = sql.split("%s")
    out = parts[0]
    for value, part in zip(params, parts[1:], strict=True):
        if isinstance(value, str):
            text = "'" + value.replace("'", "''") + "'"
        elif isinstance(value, datetime):
            text = f"'{value.isoformat()}'"
        elif isinstance(value, Decimal | int | float):
            text = str(value)
        else:
            raise TypeError(value)
        out += text + part
    return out.replace("%%", "%")


def export_csv(folder: Path) -> None:
    from django.db import connection

    tables = {
        "deals_deal": "id, workspace_id, name, external_id, owner_id, team_id, currency, status, "
        "stage_id, stage_entered_at, created_at, closed_at, amount, close_date, next_step",
        "deals_stage": 'id, name, "order", kind',
        "deals_stagechange": "id, deal_id, to_stage_id, changed_at, amount, close_date",
        "deals_activity": "id, deal_id, occurred_at, direction, contact_id",
        "deals_stakeholder": "id, deal_id, contact_id, buying_role, stance, created_at",
        "deals_contact": "id, name",
        "investigate_stagebenchmark": "workspace_id, stage_id, p50_days, p75_days, p90_days, "
        "conversion",
    }
    raw = connection.connection
    assert raw is not None
    with raw.cursor() as cursor:
        for table, columns in tables.items():
            with (
                open(folder / f"{table}.csv", "wb") as f,
                cursor.copy(
                    f"COPY (SELECT {columns} FROM {table}) TO STDOUT (FORMAT CSV, HEADER)"
                ) as copy,
            ):
                for chunk in copy:
                    f.write(chunk)


DUCK_CHILD = """
import json, resource, sys, time
from pathlib import Path
import duckdb
folder, sql = Path(sys.argv[1]), Path(sys.argv[2]).read_text()
duck = duckdb.connect()
# The statement's integer arithmetic (the rule score) divides as PostgreSQL and SQLite do.
duck.execute("SET integer_division = true")
for csv in sorted(folder.glob("*.csv")):
    duck.execute(
        f"CREATE TABLE {csv.stem} AS SELECT * FROM read_csv_auto('{csv}', sample_size = -1)"
    )
# CSV cannot tell an empty string from NULL; the CRM's empty next step is ''.
duck.execute("UPDATE deals_deal SET next_step = '' WHERE next_step IS NULL")
# The statement hands the benchmarks over as JSON rows in PostgreSQL's spelling.
duck.execute("CREATE TYPE JSONB AS JSON")
duck.execute(
    "CREATE MACRO jsonb_array_elements(x) AS TABLE "
    "SELECT unnest(CAST(x AS JSON[])) AS value"
)
runs = []
for _ in range(2):
    c0, t0 = time.process_time(), time.perf_counter()
    result = duck.execute(sql).fetchone()
    runs.append([time.perf_counter() - t0, time.process_time() - c0])
print(json.dumps({"runs": runs, "result": [float(x) for x in result],
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(argv: list[str], env: dict[str, str], out: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of a child process writing to out."""
    started = time.perf_counter()
    with out.open("wb") as fh:
        proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=fh)
        _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def diagnose_cli(folder: Path, env: dict[str, str]) -> None:
    """`unstuck diagnose --format csv` in a child process: wall time, rows, peak RSS."""
    wall, rss, code = run_child(
        [sys.executable, "-m", "unstuck.cli", "diagnose", "--workspace", "bench",
         "--format", "csv"], env, folder / "diagnose.csv")  # fmt: skip
    lines = sum(1 for _ in (folder / "diagnose.csv").open("rb")) - 1
    print(f"{'unstuck diagnose --format csv (child)':<46}{wall:>8.1f} s  {lines:,} rows "
          f"written, exit {code}, peak RSS {rss:.0f} MB · {machine()}")  # fmt: skip
    verdict("diagnose --format csv peak RSS", rss, under=500, unit="MB",
            note=f"{lines:,} rows in {wall:.0f} s")  # fmt: skip
    (folder / "diagnose.csv").unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument(
        "--skip-diagnose", action="store_true", help="Time the statement only, not the CLI."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument(
        "--template", help="Copy this database kept by an earlier run instead of building one."
    )
    args = parser.parse_args()
    global BENCH_URL
    with BenchRun("diagnose", db="postgres", keep=args.keep, template=args.template) as run:
        BENCH_URL = run.pg_url
        from django.db import connection

        from unstuck.core.models import Workspace
        from unstuck.investigate.benchmarks import benchmarks_recompute

        print(f"PostgreSQL {connection.cursor().connection.info.server_version}, default "
              "settings (work_mem 4MB, max_parallel_workers_per_gather 2); the statement in the "
              "app's analytic transaction (enable_nestloop off, JIT without inlining)")  # fmt: skip
        started = time.perf_counter()
        ws = Workspace.objects.filter(slug="bench").first() or build(args.deals)
        # As autovacuum would have by the time anyone diagnoses bulk-loaded data: statistics,
        # and the visibility map the statement's index-only scans of the history and the
        # activities rely on (without it they visit the heap, and the planner sorts instead).
        vacuumed = run.analyze()
        print(f"VACUUM ANALYZE in {vacuumed:.0f} s")
        n = counts()
        print(f"ready in {time.perf_counter() - started:.0f} s: " + ", ".join(
            f"{v:,} {k}" for k, v in n.items()))  # fmt: skip
        started = time.perf_counter()
        benchmarks_recompute(workspace=ws)
        print(f"{'benchmarks_recompute':<46}{time.perf_counter() - started:>8.1f} s  · {machine()}")
        sql, params = signal_sql(ws)
        pg = []
        for attempt in (1, 2):
            wall, cpu, pg_result = time_in_postgres(sql, params)
            pg.append((wall, cpu))
            print(f"{f'signal statement in PostgreSQL, run {attempt}':<46}{wall:>8.1f} s  "
                  f"cpu {cpu:.1f} s  · {machine()}")  # fmt: skip
        print(f"{'':<46}{pg_result}")

        with temp_folder("diagnose") as folder:
            env = {**os.environ, **run.env()}
            if not args.skip_diagnose:
                diagnose_cli(folder, env)
            if args.skip_duckdb:
                summary(f"diagnose_bench {n['open deals']:,} open deals")
                return
            started = time.perf_counter()
            export_csv(folder)

            (folder / "statement.sql").write_text(literal(sql, params))
            (folder / "child.py").write_text(DUCK_CHILD)
            print(f"{'DuckDB: export (not timed below)':<46}"
                  f"{time.perf_counter() - started:>8.1f} s")  # fmt: skip
            child = [sys.executable, str(folder / "child.py"), str(folder)]
            run_child([*child, str(folder / "statement.sql")], env, folder / "duck.json")
            duck = json.loads((folder / "duck.json").read_text())
        for attempt, (d_wall, d_cpu) in enumerate(duck["runs"], 1):
            print(f"{f'DuckDB: same statement, run {attempt}':<46}{d_wall:>8.1f} s  "
                  f"cpu {d_cpu:.1f} s (all threads)")  # fmt: skip
        print(f"{'':<46}peak RSS {duck['rss_mb']:.0f} MB (load and query) · {machine()}")
        same = tuple(duck["result"]) == tuple(float(x) for x in pg_result)
        print(f"{'':<46}→ results {'identical' if same else 'DIFFER'} to PostgreSQL's")
        # The best of each figure on each side (the run with the shorter wall time need not
        # be the one with less CPU).
        best_pg = [min(run[i] for run in pg) for i in (0, 1)]
        best_duck = [min(run[i] for run in duck["runs"]) for i in (0, 1)]
        verdict("signal statement, wall", best_pg[0], unit="s", reference=best_duck[0],
                reference_label="DuckDB", ratio_under=2)  # fmt: skip
        verdict("signal statement, CPU", best_pg[1], unit="s", reference=best_duck[1],
                reference_label="DuckDB (all threads)", ratio_under=2)  # fmt: skip
        summary(f"diagnose_bench {n['open deals']:,} open deals")


if __name__ == "__main__":
    main()
