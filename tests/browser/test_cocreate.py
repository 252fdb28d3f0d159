"""The co-creation journey in Chromium: a manager starts a session from a stuck deal in the
innovation queue, takes suggestions, cannot converge before eight options, the rep adds
options, a judging comment and scores, an option beyond the guardrails waits for a leader's
approval, and the manager decides; the deal page shows the session in its history."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from unstuck.cocreate.models import Option, Session
from unstuck.core.models import Membership
from unstuck.demo.generator import generate_demo
from unstuck.investigate.selectors import queue_page
from unstuck.investigate.services import assessments_recompute

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def add_suggestion(page: Page) -> None:
    before = page.locator("#suggestions li.suggestion").count()
    page.locator("#suggestions li.suggestion").first.get_by_role(
        "button", name="Add as option"
    ).click()
    expect(page.locator("#suggestions li.suggestion")).to_have_count(before - 1)


def test_manager_and_rep_cocreate_and_decide_within_guardrails(
    live_server: object,
    browser: Browser,
    page: Page,
    screenshot_dir: Path,
    sign_in: Callable[..., None],
) -> None:
    result = generate_demo(deals=220, seed=7)
    assessments_recompute(workspace=result.workspace)
    base = str(live_server)
    manager = Membership.objects.get(user__email="manager@demo.example")
    stuck = next(
        a.deal
        for a in queue_page(manager, 1).object_list
        if a.deal.obstacles.filter(status="open").exists()
        and not Session.objects.filter(deal=a.deal).exists()
    )

    # The manager starts a session from the innovation queue.
    page.set_viewport_size({"width": 1400, "height": 1000})
    sign_in(page, "manager@demo.example")
    expect(page.get_by_role("heading", name="Innovation queue")).to_be_visible()
    item = page.locator(".queue-item", has=page.get_by_role("link", name=stuck.name, exact=True))
    item.first.get_by_role("link", name="Start a session").click()
    expect(page.get_by_role("heading", name="Start a co-creation session")).to_be_visible()
    page.get_by_label("The customer's ideal business outcome").fill(
        "Close the books in four days and free two analysts for planning by Q3."
    )
    page.get_by_role("button", name="Start the session").click()
    expect(page.get_by_role("heading", name="Co-creating a way forward")).to_be_visible()
    session_url = page.url

    # At least twelve suggestions, the first ones answering this deal's obstacles.
    suggestions = page.locator("#suggestions li.suggestion")
    assert suggestions.count() >= 12
    first_why = page.locator("#suggestions li.suggestion .why").first.inner_text()
    assert "obstacle" in first_why, first_why
    expect(page.get_by_role("button", name="Converge (0/8)")).to_be_disabled()
    page.screenshot(path=screenshot_dir / "cocreate-1-suggestions.png", full_page=True)

    for _ in range(5):
        add_suggestion(page)
    # An option beyond the guardrails: a deep discount, a long term and an exit right.
    page.locator("#id_title").fill("Guarantee the close time for a 48-month term")
    page.locator("#add-option summary").click()
    page.locator("#new-discount").fill("22")
    page.locator("#new-term").fill("48")
    page.locator("#add-option").get_by_label("Exit right").check()
    page.get_by_role("button", name="Add option").click()
    expect(page.locator("#live .option")).to_have_count(6)
    expect(page.locator("#live")).to_contain_text("Beyond the guardrails")
    expect(page.get_by_role("button", name="Converge (6/8)")).to_be_disabled()

    # The rep adds two options and a comment that judges one; it is held, visibly.
    rep_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    rep = rep_context.new_page()
    assert stuck.owner is not None
    sign_in(rep, stuck.owner.email)
    rep.goto(session_url)
    for title in ("Let their controller own the pilot", "Invite their auditor to the demo"):
        rep.locator("#id_title").fill(title)
        rep.get_by_role("button", name="Add option").click()
        expect(rep.locator("#live")).to_contain_text(title)
    rep.get_by_label("Comment").fill("That will never work, their legal would never accept it.")
    rep.get_by_role("button", name="Comment", exact=True).click()
    expect(rep.locator("#live")).to_contain_text("Held until converge")
    rep.screenshot(path=screenshot_dir / "cocreate-2-rep-diverge.png", full_page=True)

    # The manager's page refreshes itself: eight options, the converge button opens.
    expect(page.locator("#live .option")).to_have_count(8, timeout=15_000)
    expect(page.locator("#live")).to_contain_text("Let their controller own the pilot")
    page.get_by_role("button", name="Converge: score the options").click()
    expect(page.locator(".phases li.now")).to_have_text("2 · Converge")

    # The rep scores every option.
    rep.reload()
    options = list(Option.objects.filter(session__deal=stuck).order_by("pk"))
    for k, option in enumerate(options):
        form = rep.locator(f"#option-{option.pk} form.score-form")
        form.locator("select[name=value]").select_option(str(5 - k % 3))
        form.locator("select[name=payoff]").select_option(str(4 - k % 2))
        form.get_by_role("button", name="Score").click()
        expect(rep.locator(f"#option-{option.pk}")).to_contain_text("1 score")
    expect(rep.locator("#live")).to_contain_text("You scored every option")
    expect(rep.locator("#live")).to_contain_text("That will never work")  # released
    rep.screenshot(path=screenshot_dir / "cocreate-3-rep-scores.png", full_page=True)

    # The checklist, then the option beyond the guardrails cannot be chosen yet.
    page.reload()
    page.get_by_label("Which credible alternatives did we consider, and why not them?").fill(
        "A 15% discount and waiting for the new budget year; neither moves their risk."
    )
    page.get_by_label("Who disagreed, and what did we learn from it?").fill(
        "The rep doubted legal would accept a guarantee; we asked a leader before offering it."
    )
    page.get_by_label("Premortem: six months on, this failed — why?").fill(
        "The pilot had no owner at the customer and the criteria were ours."
    )
    page.get_by_role("button", name="Save the checklist").click()
    expect(page.locator("#decide")).not_to_contain_text("Answer the checklist above first")
    big = next(o for o in options if o.term_months == 48)
    expect(page.locator(f"#decide input[value='{big.pk}']")).to_be_disabled()
    page.locator(f"#option-{big.pk}").get_by_role("button", name="Ask a leader to approve").click()
    expect(page.locator(f"#option-{big.pk}")).to_contain_text("Waiting for a leader's approval")
    page.screenshot(path=screenshot_dir / "cocreate-4-manager-converge.png", full_page=True)

    # A leader approves it, with a reason on record.
    leader_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    leader = leader_context.new_page()
    sign_in(leader, "leader@demo.example")
    leader.goto(f"{base}/w/demo/cocreate/approvals/")
    card = leader.locator(".approval", has_text=big.title)
    card.get_by_label("Reason").fill("Margin holds at 48 months; the exit right is capped.")
    card.get_by_role("button", name="Approve").click()
    expect(leader.locator(".approval", has_text=big.title)).to_contain_text("Approved by")
    leader.screenshot(path=screenshot_dir / "cocreate-5-leader-approves.png", full_page=True)

    # Now the manager decides: the approved option and the rep's idea.
    page.reload()
    expect(page.locator(f"#option-{big.pk}")).to_contain_text("Approved beyond the guardrails")
    controller = next(o for o in options if o.title.startswith("Let their controller"))
    page.locator(f"#decide input[value='{big.pk}']").check()
    page.locator(f"#decide input[value='{controller.pk}']").check()
    page.get_by_label("Rationale").fill(
        "It takes their risk off the table and the controller owns the success criteria."
    )
    page.get_by_role("button", name="Decide", exact=True).click()
    expect(page.locator(".phases li.now")).to_have_text("3 · Decide")
    page.get_by_label("Action", exact=True).fill("Agree the success criteria with the controller")
    page.get_by_label("Due").fill("2030-01-15")
    page.get_by_role("button", name="Add action item").click()
    expect(page.locator("#decision")).to_contain_text("Agree the success criteria")
    expect(page.locator("#live .option.chosen")).to_have_count(2)
    expect(page.locator("#live")).to_contain_text("1 score")  # the rep's scores in the record
    page.screenshot(path=screenshot_dir / "cocreate-6-decided.png", full_page=True)

    # The deal's history shows the session and what was chosen.
    page.goto(f"{base}/w/demo/deals/{stuck.pk}/")
    history = page.locator("#cocreate-history")
    expect(history).to_contain_text("Decided")
    expect(history).to_contain_text(big.title)
    page.screenshot(path=screenshot_dir / "cocreate-7-deal-history.png", full_page=True)
    assert re.search(r"/cocreate/sessions/\d+/", session_url)
    rep_context.close()
    leader_context.close()
