"""The playbook's sections of the weekly digest: deals of the person's teams that got
unstuck this week with the play used on them, and the play of the week with its measured
outcome (the same summary the play's page gives, "too early to tell" included)."""

from __future__ import annotations

from django.urls import reverse

from unstuck.core.access import deals_visible_to
from unstuck.core.models import Role
from unstuck.share.digest import DigestContext, DigestItem, Section, digest_section
from unstuck.share.selectors.plays import play_of_the_week, plays_applied_on_unstuck_deals

SHOWN = 5


def _teams(ctx: DigestContext) -> list[int] | None:
    """The teams whose deals this person hears about; [] is the whole workspace (a leader);
    None is nobody's (a partner, or a rep without a team)."""
    m = ctx.membership
    if m.role == Role.LEADER:
        return []
    if m.role == Role.MANAGER:
        return ctx.team_ids or None
    if m.role == Role.REP and m.team_id:
        return [m.team_id]
    return None


@digest_section(20, "unstuck")
def unstuck_section(ctx: DigestContext) -> Section | None:
    """Deals that moved forward (or were won) this week after a play was applied to them,
    limited to the deals this person may see."""
    teams = _teams(ctx)
    if teams is None:
        return None
    key = ("unstuck", ctx.membership.workspace_id, tuple(teams), ctx.since)
    if key not in ctx.shared:  # the same for everyone of the same teams in one send run
        ctx.shared[key] = plays_applied_on_unstuck_deals(ctx.membership.workspace, teams, ctx.since)
    moved = ctx.shared[key]
    if not moved:
        return None
    if ctx.membership.role == Role.PARTNER:  # invited deals only: asked on their own
        visible = set(
            deals_visible_to(ctx.membership)
            .filter(pk__in=[u.deal.pk for u in moved])
            .values_list("pk", flat=True)
        )
    else:  # the same rule, checked on the deals in hand (no query)
        visible = {u.deal.pk for u in moved if ctx.scope.covers(u.deal)}
    shown = [u for u in moved if u.deal.pk in visible]
    items = [
        DigestItem(
            title=f"{u.deal.name}: {'won' if u.won else f'moved to {u.to_stage}'}",
            url=reverse("deals:detail", kwargs={"slug": ctx.slug, "pk": u.deal.pk}),
            detail=f"after the play “{u.play.title}”",
        )
        for u in shown[:SHOWN]
    ]
    return Section(
        "unstuck", "Unstuck this week, and the play used", items, more=len(shown) - len(items)
    )


@digest_section(25, "play-of-the-week")
def play_of_the_week_section(ctx: DigestContext) -> Section | None:
    """The verified play these teams used most lately, with its evidence and its measured
    outcome — never a play measured as doing worse."""
    teams = _teams(ctx)
    if teams is None:
        return None
    key = ("play-of-the-week", ctx.membership.workspace_id, tuple(teams))
    if key not in ctx.shared:
        ctx.shared[key] = play_of_the_week(ctx.membership.workspace, teams, now=ctx.now)
    pick = ctx.shared[key]
    if pick is None:
        return None
    outcome = pick.outcome
    recent = pick.applications_recent
    evidence = pick.evidence_deals
    parts = [outcome.headline, f"applied {outcome.applications} times"]
    if recent:
        parts.append(f"{recent} in the last four weeks")
    parts.append(f"{evidence} evidence deal{'s' if evidence != 1 else ''}")
    detail = " · ".join(parts)
    item = DigestItem(
        title=pick.play.title,
        url=reverse("share:play", kwargs={"slug": ctx.slug, "pk": pick.play.pk}),
        detail=detail,
    )
    # Shown beside real news, never a reason on its own to send (no filler).
    return Section("play-of-the-week", "Play of the week", [item], nudge=True)
