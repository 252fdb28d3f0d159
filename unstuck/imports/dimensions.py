"""Accounts, pipelines and stages an import needs before its deals: created from the data
when the workspace lacks them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Max

from unstuck.core.models import Workspace
from unstuck.deals.models import Account, Pipeline, Stage
from unstuck.imports import staging
from unstuck.imports.mapping import kind_from_name
from unstuck.imports.records import AccountRow

if TYPE_CHECKING:
    from unstuck.imports.loader import LoadResult


def upsert_accounts(
    *,
    workspace: Workspace,
    source: str,
    accounts: Iterable[AccountRow],
    named: dict[str, str],
    result: LoadResult,
) -> None:
    """Accounts from an accounts file, and those the deals only name; by (source, id)."""
    rows: dict[str, AccountRow] = {}
    for key, name in named.items():
        rows[key] = AccountRow(key[:100], name[:255])
    for a in accounts:
        rows[a.external_id[:100]] = a
    if not rows:
        return
    existing = {
        a.external_id: a for a in Account.objects.filter(workspace=workspace, source=source)
    }
    new, changed = [], []
    for key, a in rows.items():
        fields = {
            "name": a.name[:255] or key,
            "industry": a.industry[:100],
            "employees": a.employees,
            "country": a.country[:100],
            "custom": a.custom,
        }
        found = existing.get(key)
        if found is None:
            new.append(Account(workspace=workspace, source=source, external_id=key, **fields))
        elif any(getattr(found, f) != v for f, v in fields.items()):
            for f, v in fields.items():
                setattr(found, f, v)
            changed.append(found)
    Account.objects.bulk_create(new, batch_size=2000)
    Account.objects.bulk_update(
        changed, ["name", "industry", "employees", "country", "custom"], batch_size=2000
    )
    result.accounts_created = len(new)
    result.accounts_updated = len(changed)


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
    with staging.connection.cursor() as cursor:
        cursor.executemany("INSERT INTO stg_stage VALUES (%s, %s, %s, %s, %s)", mapping_rows)
