"""The playbook provider on co-creation's `SuggestionProvider` seam: the workspace's verified
plays that fit a deal's obstacles, stall signals and stage, best fit first, each with its
evidence (the measured outcome, or "too early to tell")."""

from __future__ import annotations

from django.db.models import Count

from unstuck.cocreate.generator import KIND_LABELS, DealFacts, Suggestion, _short
from unstuck.investigate.models import DealAssessment
from unstuck.investigate.stall_signals import SIGNALS
from unstuck.share.models import Play, PlayStatus
from unstuck.share.plays_outcomes import outcome_summary, with_outcome_stamp

# How much the measured outcome moves a play up or down among the suggestions.
VERDICT_BONUS = {"working": 2.5, "no_evidence": 0.0, "too_early": 0.0, "worse": -3.0}


class PlaybookProvider:
    name = "playbook"

    def suggest(
        self, facts: DealFacts, workspace_id: int, *, signals: set[str] | None = None
    ) -> list[Suggestion]:
        """signals: the codes of the deal's stored stall signals, when the caller has read
        its assessment already (the deal page); else read here."""
        # The evidence deals are counted in the statement, not fetched to be counted.
        plays = list(
            with_outcome_stamp(
                Play.objects.filter(workspace_id=workspace_id, status=PlayStatus.VERIFIED)
            )
            .annotate(n_evidence=Count("evidence_deals", distinct=True))
            .order_by("pk")
        )
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
            summary = outcome_summary(play)
            if matched or fired:
                # The measured outcome lifts a play that answers this deal's problem; a play
                # that only shares the stage stays below the levers that answer its obstacles.
                score += VERDICT_BONUS.get(summary.verdict, 0.0)
            why.append(summary.headline)
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
