"""Diagnose at scale: 1,000,000 open deals with 5,000,000 stage-history rows on PostgreSQL,
and the same signal SQL in DuckDB over the same data as a reference.

Builds the data set with set-based SQL (generate_series) in a fresh PostgreSQL database:
open deals in five stages with their stage moves plus two close-date/amount updates each,
20,000 won deals for the benchmarks, two activities per open deal and a buying committee on
two deals in three. Then times, on the same workspace:
  1. benchmarks_recompute (percentiles over the won deals' history);
  2. the signal statement alone, aggregated in the database (what the server spends);
  3. signal_rows(): the statement plus fetching every row into Python;
  4. the same statement in DuckDB over the same tables exported as CSV.

    uv run python bench/diagnose_bench.py                      # 1,000,000 open deals
    uv run python bench/diagnose_bench.py --deals 100000       # a quicker look
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

PG_URL = "postgres://postgres@127.0.0.1:5432/unstuck_bench_diagnose"
WON = 20_000


def _recreate_pg_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS unstuck_bench_diagnose WITH (FORCE)")
        c.execute("CREATE DATABASE unstuck_bench_diagnose")


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


def signal_sql(ws: Any, moment: datetime) -> tuple[str, list[Any]]:
    """The exact statement signal_rows runs for 'now', with its parameters."""
    from unstuck.investigate import stall_signals as signals
    from unstuck.investigate.benchmarks import no_activity_threshold, stall_settings_for
    from unstuck.investigate.models import StageBenchmark
    from unstuck.investigate.sql import timestamp_param

    stall = stall_settings_for(ws)
    wrow = StageBenchmark.objects.filter(workspace=ws, stage=None).first()
    sql, params = signals._render(
        signals._query("__SNAPSHOT__"),
        {
            "no_activity_days": no_activity_threshold(stall, wrow),
            "slip_count": stall.slip_count,
            "has_committees": 1,
            "single_threaded_max": stall.single_threaded_max,
            "eb_from_stage": stall.economic_buyer_from_stage,
            "now_mode": 1,
            "champion_quiet_days": stall.champion_quiet_days,
            "workspace_id": ws.pk,
            "stage_kind": "open",
        },
    )
    before, after = sql.split("__SNAPSHOT__")
    ts = timestamp_param(moment)
    snapshot = signals._snapshot_open(id_filter="", now_mode=True)
    return before + snapshot + after, [ts, ws.pk, ts, ts, *params]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="Keep the data set of the previous run."
    )
    args = parser.parse_args()
    os.environ.setdefault("UNSTUCK_SECRET_KEY", "bench")
    os.environ["UNSTUCK_DATA_DIR"] = tempfile.mkdtemp(prefix="unstuck-diagbench-")
    os.environ["DATABASE_URL"] = PG_URL
    os.environ["DJANGO_SETTINGS_MODULE"] = "unstuck.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from unstuck.investigate.benchmarks import benchmarks_recompute
    from unstuck.investigate.stall_signals import signal_rows

    if not args.reuse:
        _recreate_pg_database()
    call_command("migrate", verbosity=0)
    print(f"Diagnose benchmark · PostgreSQL {connection.cursor().connection.info.server_version}")
    print(
        "machine: 2 cores shared with other engineers' jobs, load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
        + "; default PostgreSQL settings\n"
    )
    started = time.perf_counter()
    from unstuck.core.models import Workspace

    ws = Workspace.objects.filter(slug="bench").first() if args.reuse else None
    ws = ws or build(args.deals)
    n = counts()
    print(f"ready in {time.perf_counter() - started:.0f} s: " + ", ".join(
        f"{v:,} {k}" for k, v in n.items()))  # fmt: skip
    started = time.perf_counter()
    benchmarks_recompute(workspace=ws)
    print(f"\n{'benchmarks_recompute':<46}{time.perf_counter() - started:>8.1f} s")
    moment = timezone.now()
    sql, params = signal_sql(ws, moment)
    from unstuck.investigate.stall_signals import SIGNALS

    summary = (
        "SELECT count(*), sum(stall_score), "
        + ", ".join(f"sum(f_{code})" for code in SIGNALS)
        + " FROM ("
        + sql
        + ") q"
    )
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(summary, params)
        pg_summary = cursor.fetchone()
    pg_sql = time.perf_counter() - started
    print(f"{'signal statement, aggregated in PostgreSQL':<46}{pg_sql:>8.1f} s  {pg_summary}")
    started = time.perf_counter()
    rows = signal_rows(ws)
    pg_full = time.perf_counter() - started
    print(f"{'signal_rows() incl. fetching every row':<46}{pg_full:>8.1f} s  {len(rows):,} rows")
    verdict = "under" if pg_full < 60 else "OVER"
    print(f"{'':<46}→ {verdict} the 60 s target")
    del rows
    if args.skip_duckdb:
        return
    import duckdb

    folder = Path(tempfile.mkdtemp(prefix="unstuck-duck-"))
    started = time.perf_counter()
    export_csv(folder)
    duck = duckdb.connect()
    for csv in folder.glob("*.csv"):
        duck.execute(
            f"CREATE TABLE {csv.stem} AS SELECT * FROM read_csv_auto('{csv}', sample_size = -1)"
        )
    # CSV cannot tell an empty string from NULL; the CRM's empty next step is ''.
    duck.execute("UPDATE deals_deal SET next_step = '' WHERE next_step IS NULL")
    print(
        f"\n{'DuckDB: export + load (not timed below)':<46}{time.perf_counter() - started:>8.1f} s"
    )
    duck_sql = literal(summary, params)
    started = time.perf_counter()
    duck_summary = duck.execute(duck_sql).fetchone()
    duck_time = time.perf_counter() - started
    print(f"{'DuckDB: same statement, aggregated':<46}{duck_time:>8.1f} s  {duck_summary}")
    same = tuple(float(x) for x in duck_summary) == tuple(float(x) for x in pg_summary)
    print(f"{'':<46}→ results {'identical' if same else 'DIFFER'} to PostgreSQL's")


if __name__ == "__main__":
    main()
