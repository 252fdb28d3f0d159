"""At phone width (390 px), in Chromium: the queue, a deal, the pipeline and a session fit the
screen (nothing scrolls sideways: the payoff and "Start a session" stay visible), and the
stage timeline's labels never overlap or spill out of their segment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from unstuck.cocreate.services import session_add_option, session_start
from unstuck.core.access import deals_visible_to
from unstuck.core.models import Membership
from unstuck.deals.models import StageChange
from unstuck.demo.generator import generate_demo
from unstuck.investigate.services import assessments_recompute

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
  .slice(0, 8).map(e => `${e.tagName}.${e.className}#${e.id}`)"""


def scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def assert_fits(page: Page, name: str, screenshot_dir: Path) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshot_dir / f"phone-{name}.png", full_page=True)
    width = scroll_width(page)
    wide = page.evaluate(WIDER_THAN_SCREEN) if width > PHONE["width"] else []
    assert width <= PHONE["width"], f"{name}: scroll width {width} > {PHONE['width']}: {wide}"


def label_problems(page: Page) -> list[str]:
    """Timeline labels that overlap a neighbour or are wider than their segment."""
    return list(
        page.evaluate(
            """() => {
          const problems = [];
          const spans = [...document.querySelectorAll('.timeline-bar span')];
          const shown = spans.filter(s => getComputedStyle(s).color !== 'rgba(0, 0, 0, 0)'
                                         && !s.classList.contains('no-label'));
          const boxes = shown.map(s => {
            const range = document.createRange();
            range.selectNodeContents(s);
            const text = range.getBoundingClientRect();
            const box = s.getBoundingClientRect();
            const spills = text.left < box.left - 0.5 || text.right > box.right + 0.5;
            if (s.textContent.trim() && spills)
              problems.push(`${s.textContent.trim()} spills out of its segment`);
            return {name: s.textContent.trim(), left: text.left, right: text.right};
          });
          for (let i = 1; i < boxes.length; i++)
            if (boxes[i].name && boxes[i - 1].name && boxes[i].left < boxes[i - 1].right - 0.5)
              problems.push(`${boxes[i - 1].name} overlaps ${boxes[i].name}`);
          return problems;
        }"""
        )
    )


def test_the_main_pages_fit_a_phone(
    live_server: object, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    result = generate_demo(deals=60, seed=7)
    assessments_recompute(workspace=result.workspace)
    slug = result.workspace.slug
    manager = Membership.objects.get(workspace=result.workspace, user__email="manager@demo.example")
    # A deal that went through several stages, some briefly: the hardest timeline to label.
    deal = max(
        deals_visible_to(manager).filter(stage__kind="open"),
        key=lambda d: StageChange.objects.filter(deal=d).count(),
    )
    session = session_start(
        membership=manager, deal=deal, ideal_outcome="Close the books in four days."
    )
    session_add_option(
        membership=manager,
        session=session,
        title="Share the integration risk for a three-year term with a performance guarantee",
        description="We carry the risk: if the close is not four days by Q3, service credits.",
    )
    base = str(live_server)
    page.set_viewport_size(PHONE)
    sign_in(page, "manager@demo.example")

    page.goto(f"{base}/w/{slug}/investigate/")
    expect(page.locator(".queue-item").first).to_be_visible()
    assert_fits(page, "queue", screenshot_dir)
    first = page.locator(".queue-item").first
    for part in (first.locator(".payoff"), first.get_by_role("link", name="Start a session")):
        box = part.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]

    page.goto(f"{base}/w/{slug}/deals/{deal.pk}/")
    expect(page.locator(".timeline-bar")).to_be_visible()
    assert_fits(page, "deal", screenshot_dir)
    page.locator("#timeline").screenshot(path=screenshot_dir / "phone-deal-timeline.png")
    assert label_problems(page) == []

    page.goto(f"{base}/w/{slug}/deals/")
    assert_fits(page, "pipeline", screenshot_dir)

    page.goto(f"{base}/w/{slug}/cocreate/sessions/{session.pk}/")
    expect(page.locator("#live article.option")).to_have_count(1)
    assert_fits(page, "session", screenshot_dir)


def test_timeline_labels_never_overlap_at_any_width(
    live_server: object, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    result = generate_demo(deals=40, seed=11)
    manager = Membership.objects.get(workspace=result.workspace, user__email="manager@demo.example")
    deals = sorted(
        deals_visible_to(manager),
        key=lambda d: -StageChange.objects.filter(deal=d).count(),
    )[:3]
    base = str(live_server)
    page.set_viewport_size(PHONE)
    sign_in(page, "manager@demo.example")
    for width in (320, 390, 600, 1000):
        page.set_viewport_size({"width": width, "height": 900})
        for deal in deals:
            page.goto(f"{base}/w/{result.workspace.slug}/deals/{deal.pk}/")
            expect(page.locator(".timeline-bar")).to_be_visible()
            page.wait_for_timeout(100)
            assert label_problems(page) == [], (width, deal.pk)
            # Some segments still name their stage (the widest ones fit their name).
            if width >= 600:
                assert page.locator(".timeline-bar span:not(.no-label)").count() >= 1
