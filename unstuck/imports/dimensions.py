"""Accounts, pipelines and stages an import needs before its deals: created from the data
when the workspace lacks them."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Max

from unstuck.core.models import Workspace
from unstuck.deals.models import Pipeline, Stage
from unstuck.imports import staging
from unstuck.imports.mapping import kind_from_name
from unstuck.imports.records import AccountRow

if TYPE_CHECKING:
    from unstuck.imports.loader import LoadResult


ACCOUNT_COLUMNS = [
    ("external_id", "text"),
    ("name", "text"),
    ("industry", "text"),
    ("employees", "bigint"),
    ("country", "text"),
    ("custom", "json"),
]


def upsert_accounts(
    *,
    workspace: Workspace,
    source: str,
    accounts: Iterable[AccountRow],
    named: dict[str, str],
    result: LoadResult,
) -> None:
    """Accounts from an accounts file, and those the deals only name; by (source, id).

    Set-based like the deals: staged, then one insert of the new and one update of the
    changed (a CRM has a hundred thousand accounts; objects one by one took seconds)."""
    rows: dict[str, AccountRow] = {}
    for key, name in named.items():
        rows[key] = AccountRow(key[:100], name[:255])
    for a in accounts:
        rows[a.external_id[:100]] = a
    if not rows:
        return
    d = staging.Dialect()
    writer = staging.StagingWriter("stg_acc", ACCOUNT_COLUMNS, d)
    try:
        for key, a in rows.items():
            employees = a.employees if a.employees is not None and a.employees >= 0 else None
            writer.write(
                (
                    key,
                    a.name[:255] or key,
                    a.industry[:100],
                    employees if employees is None or employees < 2**31 else None,
                    a.country[:100],
                    json.dumps(a.custom),
                )
            )
        writer.close()
    except BaseException:
        writer.abort()
        raise
    ws, src = workspace.pk, source
    match = (
        "a.workspace_id = %s AND a.source = %s AND a.external_id = s.external_id "
        "AND a.external_id <> ''"
    )
    fields = ("name", "industry", "employees", "country", "custom")
    changed = " OR ".join(d.distinct(f"a.{f}", f"s.{f}") for f in fields)
    # Count the changed rows first: SQLite's UPDATE … FROM reports rows matched.
    result.accounts_updated = staging.fetchall(
        f"SELECT COUNT(*) FROM deals_account a JOIN stg_acc s ON {match} WHERE {changed}",
        [ws, src],
    )[0][0]
    if result.accounts_updated:
        sets = ", ".join(f"{f} = s.{f}" for f in fields)
        staging.execute(
            f"UPDATE deals_account AS a SET {sets} FROM stg_acc s WHERE {match} AND ({changed})",
            [ws, src],
        )
    result.accounts_created = staging.execute(
        "INSERT INTO deals_account (workspace_id, source, external_id, name, industry, "
        "employees, country, custom) SELECT %s, %s, s.external_id, s.name, s.industry, "
        "s.employees, s.country, s.custom FROM stg_acc s "
        f"WHERE NOT EXISTS (SELECT 1 FROM deals_account a WHERE {match})",
        [ws, src, ws, src],
    )
    staging.drop("stg_acc")


def ensure_stages(
    *,
    workspace: Workspace,
    stage_order: list[str],
    stage_kinds: dict[str, str],
    result: LoadResult,
    orphan_history: bool = True,
) -> None:
    """Create the pipelines and stages the data names and the workspace lacks.

    orphan_history says whether some history rows name no staged deal (then each row's
    pipeline must come from its deal)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for pipeline, stage, kind, count, prob, first in staging.fetchall(
        "SELECT pipeline, stage, kind, COUNT(*), AVG(probability), MIN(line) "
        "FROM stg_deal GROUP BY pipeline, stage, kind"
    ):
        entry = seen.setdefault(
            (pipeline, stage), {"kinds": Counter(), "prob": prob, "first": first}
        )
        if kind:
            entry["kinds"][kind] += count
        entry["first"] = min(entry["first"], first)
    pipelines = {pipeline for pipeline, _ in seen}
    if len(pipelines) == 1 and not orphan_history:
        # Every history row belongs to a deal of the one pipeline: no need to join millions
        # of history rows to their deals to learn which pipeline their stages are in.
        history_stages = staging.fetchall(
            "SELECT %s, stage, MIN(line) FROM stg_hist GROUP BY stage", [next(iter(pipelines))]
        )
    else:
        history_stages = staging.fetchall(
            "SELECT s.pipeline, h.stage, MIN(h.line) FROM stg_hist h "
            "JOIN stg_deal s ON s.external_id = h.deal_ext GROUP BY s.pipeline, h.stage"
        )
    for pipeline, stage, first in history_stages:
        seen.setdefault(
            (pipeline, stage), {"kinds": Counter(), "prob": None, "first": 10**9 + first}
        )
    by_pipeline: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for (pipeline, stage), info in seen.items():
        by_pipeline[pipeline].append((stage, info))
    order_hint = {name: i for i, name in enumerate(stage_order)}
    mapping_rows: list[tuple[str, str, int, int, str]] = []
    for pipeline_name, stages in by_pipeline.items():
        pipeline, _ = Pipeline.objects.get_or_create(
            workspace=workspace,
            name=pipeline_name,
            defaults={"is_default": not Pipeline.objects.filter(workspace=workspace)},
        )
        existing = {s.name: s for s in pipeline.stages.all()}
        missing = []
        for stage, info in stages:
            if stage in existing:
                continue
            kinds: Counter[str] = info["kinds"]
            kind = (
                kinds.most_common(1)[0][0]
                if kinds
                else stage_kinds.get(stage) or kind_from_name(stage)
            )
            missing.append((stage, kind, info))
        rank = {"open": 0, "won": 1, "lost": 2}
        missing.sort(
            key=lambda m: (
                order_hint.get(m[0], 10**6),
                rank[m[1]],
                m[2]["prob"] if m[2]["prob"] is not None else 101,
                m[2]["first"],
            )
        )
        top = pipeline.stages.aggregate(top=Max("order"))["top"]
        next_order = 0 if top is None else top + 1
        for stage, kind, info in missing:
            prob = info["prob"]
            probability = round(prob) if prob is not None else {"won": 100, "lost": 0}.get(kind, 0)
            existing[stage] = Stage.objects.create(
                pipeline=pipeline,
                name=stage,
                order=next_order,
                kind=kind,
                probability=max(0, min(100, probability)),
            )
            next_order += 1
            result.stages_created.append(f"{pipeline_name}: {stage} ({kind})")
        for stage, _info in stages:
            s = existing[stage]
            mapping_rows.append((pipeline_name, stage, pipeline.pk, s.pk, s.kind))
    staging.create(
        "stg_stage",
        [
            ("pipeline", "text"),
            ("stage", "text"),
            ("pipeline_id", "bigint"),
            ("stage_id", "bigint"),
            ("kind", "text"),
        ],
        staging.Dialect(),
    )
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO stg_stage VALUES (%s, %s, %s, %s, %s)", mapping_rows)
