"""The playbook provider on co-creation's `SuggestionProvider` seam: the workspace's verified
plays that fit a deal's obstacles, stall signals and stage, best fit first, each with its
evidence (the measured outcome, or "too early to tell")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from unstuck.cocreate.generator import KIND_LABELS, DealFacts, Suggestion, _short
from unstuck.investigate.models import DealAssessment
from unstuck.investigate.sql import fetch_dicts, is_postgres, table
from unstuck.investigate.stall_signals import SIGNALS
from unstuck.share.models import Play, PlayApplication, PlayStatus
from unstuck.share.plays_outcomes import StampedPlay, outcome_summary

# How much the measured outcome moves a play up or down among the suggestions.
VERDICT_BONUS = {"working": 2.5, "no_evidence": 0.0, "too_early": 0.0, "worse": -3.0}


@dataclass(frozen=True, slots=True)
class VerifiedPlay:
    """What the suggestions read of a verified play."""

    pk: int
    title: str
    what_to_do: str
    obstacle_kinds: list[str]
    stall_signals: list[str]
    stages: list[str]
    n_evidence: int
    stamp: StampedPlay  # its stored outcome


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def verified_plays(workspace_id: int) -> list[VerifiedPlay]:
    """The workspace's verified plays, oldest first, with their evidence deals and
    applications counted in the statement. Written SQL: the ORM took about 1 ms of CPU to
    build and compile the three counts' joins for a handful of rows (issue 16)."""
    play, applied = table(Play), table(PlayApplication)
    evidence = table(Play.evidence_deals.through)
    # Of the stored outcome only its summary (the rest is the play page's charts: 4-5 kB of
    # JSON a play, most of the CPU of reading them here).
    summary = "p.outcome -> 'summary'" if is_postgres() else "json_extract(p.outcome, '$.summary')"
    rows = fetch_dicts(
        "SELECT p.id, p.title, p.what_to_do, p.obstacle_kinds, p.stall_signals, p.stages, "
        f"{summary} AS summary, p.outcome_key, "
        f"(SELECT COUNT(*) FROM {applied} a WHERE a.play_id = p.id) AS n_applications, "
        f"(SELECT MAX(a.id) FROM {applied} a WHERE a.play_id = p.id) AS last_application, "
        f"(SELECT COUNT(DISTINCT e.deal_id) FROM {evidence} e WHERE e.play_id = p.id) "
        f"AS n_evidence FROM {play} p WHERE p.workspace_id = %s AND p.status = %s "
        "ORDER BY p.id",
        [workspace_id, PlayStatus.VERIFIED.value],
    )
    return [
        VerifiedPlay(
            pk=r["id"],
            title=r["title"],
            what_to_do=r["what_to_do"],
            obstacle_kinds=_json(r["obstacle_kinds"]),
            stall_signals=_json(r["stall_signals"]),
            stages=_json(r["stages"]),
            n_evidence=r["n_evidence"],
            stamp=StampedPlay(
                pk=r["id"],
                outcome={"summary": _json(r["summary"])} if r["summary"] else {},
                outcome_key=r["outcome_key"],
                n_applications=r["n_applications"],
                last_application=r["last_application"],
            ),
        )
        for r in rows
    ]


class PlaybookProvider:
    name = "playbook"

    def suggest(
        self, facts: DealFacts, workspace_id: int, *, signals: set[str] | None = None
    ) -> list[Suggestion]:
        """signals: the codes of the deal's stored stall signals, when the caller has read
        its assessment already (the deal page); else read here."""
        plays = verified_plays(workspace_id)
        if not plays:
            return []
        if signals is None:
            assessment = DealAssessment.objects.filter(deal_id=facts.deal_id).first()
            signals = {s.get("code", "") for s in (assessment.signals if assessment else [])}
        kinds = facts.obstacle_kinds
        out = []
        for play in plays:
            matched = [k for k in play.obstacle_kinds if k in kinds]
            stage_fits = facts.stage in play.stages
            fired = [s for s in play.stall_signals if s in signals]
            if not (matched or stage_fits or fired):
                continue
            why: list[str] = []
            score = 1.0
            if matched:
                obstacle = next(d for k, d in facts.obstacles if k == matched[0])
                score += 4 + len(matched) - 1
                why.append(
                    f"answers the {KIND_LABELS.get(matched[0], matched[0]).lower()} obstacle "
                    f"“{_short(obstacle, 70)}”"
                )
            if stage_fits:
                score += 1.5
                why.append(f"worked on deals in {facts.stage}")
            elif play.stages:
                score -= 1.0
            if fired:
                score += min(2.0, 0.75 * len(fired))
                names = ", ".join(SIGNALS[s][1].lower() for s in fired)
                why.append(f"fits the signals on this deal: {names}")
            summary = outcome_summary(play.stamp)
            if matched or fired:
                # The measured outcome lifts a play that answers this deal's problem; a play
                # that only shares the stage stays below the levers that answer its obstacles.
                score += VERDICT_BONUS.get(summary.verdict, 0.0)
            # Each reason is a clause: the page joins them with "; " and ends with one period.
            why.append(summary.headline.rstrip("."))
            evidence = play.n_evidence
            if evidence:
                why.append(f"{evidence} evidence deal{'s' if evidence != 1 else ''}")
            out.append(
                Suggestion(
                    key=f"playbook:{play.pk}",
                    source="playbook",
                    title=play.title,
                    text=play.what_to_do,
                    why=why,
                    score=score,
                    family="Playbook",
                    terms={"play_id": play.pk, "verdict": summary.verdict, "n": summary.n},
                )
            )
        return out
