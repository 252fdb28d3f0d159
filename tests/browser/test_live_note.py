"""The live bias note while a person types, in Chromium: typing in a session's "How it would
work" or a comment, pausing longer than the note's debounce, must keep the options list and
everything typed; an option with a description is added straight from the form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from unstuck.cocreate.models import Option, Session
from unstuck.cocreate.services import session_add_option, session_start
from unstuck.core.access import deals_visible_to
from unstuck.core.models import Membership
from unstuck.demo.generator import generate_demo
from unstuck.thinking.models import BiasFlag, FlagStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEBOUNCE_MS = 800
BIASED = "We have always done it this way, the legacy approach worked for years so keep it."
NEUTRAL = "Offer a pilot on one site for three months, then review the numbers together."


def type_and_pause(page: Page, selector: str, text: str) -> None:
    """Type like a person, then wait past the debounce for the live check's answer."""
    with page.expect_response(lambda r: "/thinking/check/" in r.url, timeout=30_000):
        page.locator(selector).press_sequentially(text, delay=25)
        page.wait_for_timeout(DEBOUNCE_MS + 400)
    page.wait_for_timeout(300)  # let htmx settle the swap


@pytest.fixture
def open_session(live_server: object, page: Page, sign_in: Callable[..., None]) -> Session:
    """A demo session with one option, open in the manager's browser."""
    result = generate_demo(deals=40, seed=3)
    # The demo's saved texts (its news) carry flags of their own; these tests count only the
    # flags that typing and saving here store.
    BiasFlag.objects.all().delete()
    manager = Membership.objects.get(workspace=result.workspace, user__email="manager@demo.example")
    deal = deals_visible_to(manager).filter(stage__kind="open").order_by("pk").first()
    assert deal is not None
    session = session_start(
        membership=manager, deal=deal, ideal_outcome="Close the books in four days."
    )
    session_add_option(membership=manager, session=session, title="Bring their CFO into the room")
    base = str(live_server)
    page.set_viewport_size({"width": 1300, "height": 1000})
    sign_in(page, "manager@demo.example")
    page.goto(f"{base}/w/{result.workspace.slug}/cocreate/sessions/{session.pk}/")
    return session


def test_the_live_note_keeps_the_options_and_what_was_typed(
    open_session: Session, page: Page, screenshot_dir: Path
) -> None:
    session = open_session
    options = page.locator("#live article.option")
    expect(options).to_have_count(1)

    title = "Share the integration risk for a three-year term"
    page.locator("#id_title").press_sequentially(title, delay=25)
    # A biased description: the note shows beside it, in its own slot.
    type_and_pause(page, "#id_description", BIASED)
    note = page.locator("#add-option .gentle-note-slot .gentle-flag")
    expect(note).to_be_visible()
    expect(page.locator("#live .gentle-flag")).to_have_count(0)
    expect(page.locator("#add-option")).not_to_contain_text("hx-target")
    expect(options).to_have_count(1)
    expect(page.locator("#id_title")).to_have_value(title)
    expect(page.locator("#id_description")).to_have_value(BIASED)
    page.screenshot(path=screenshot_dir / "live-note-1-option-draft.png", full_page=True)

    # Rewritten to neutral text: the note clears, still nothing typed is lost.
    page.locator("#id_description").fill("")
    type_and_pause(page, "#id_description", NEUTRAL)
    expect(note).to_have_count(0)
    expect(options).to_have_count(1)
    expect(page.locator("#id_title")).to_have_value(title)
    expect(page.locator("#id_description")).to_have_value(NEUTRAL)

    # The option is added with its description, straight from the form.
    page.get_by_role("button", name="Add option").click()
    expect(options).to_have_count(2)
    expect(page.locator("#live")).to_contain_text(NEUTRAL)
    assert Option.objects.filter(session=session, title=title, description=NEUTRAL).exists()
    expect(page.locator("#id_title")).to_have_value("")

    # A comment: pausing while writing it keeps the comment and the options.
    type_and_pause(page, "#id_comment_text", BIASED)
    expect(page.locator("#discuss .gentle-flag")).to_be_visible()
    expect(options).to_have_count(2)
    expect(page.locator("#id_comment_text")).to_have_value(BIASED)
    page.screenshot(path=screenshot_dir / "live-note-2-comment.png", full_page=True)


def test_typing_stores_no_flag_only_the_saved_text_does(
    live_server: object, open_session: Session, page: Page, screenshot_dir: Path
) -> None:
    session = open_session
    slug = session.deal.workspace.slug

    # A description typed with several pauses, each answered by the note: nothing is stored.
    page.locator("#id_title").press_sequentially("Keep the annual plan", delay=25)
    type_and_pause(page, "#id_description", BIASED[:40])
    type_and_pause(page, "#id_description", BIASED[40:])
    expect(page.locator("#add-option .gentle-flag")).to_be_visible()
    type_and_pause(page, "#id_description", " Really.")
    assert not BiasFlag.objects.exists()

    # Rewritten before saving: the save stores one flag, marked rewritten, on the saved option.
    page.locator("#id_description").fill("")
    type_and_pause(page, "#id_description", NEUTRAL)
    page.get_by_role("button", name="Add option").click()
    expect(page.locator("#live article.option")).to_have_count(2)
    option = Option.objects.get(session=session, title="Keep the annual plan")
    (rewritten,) = BiasFlag.objects.all()
    assert (rewritten.status, rewritten.subject, rewritten.text) == (
        FlagStatus.REVISED,
        option,
        f"{option.title}. {NEUTRAL}",
    )

    # A comment typed with pauses and saved as it is: one open flag, for the saved text.
    type_and_pause(page, "#id_comment_text", BIASED[:40])
    type_and_pause(page, "#id_comment_text", BIASED[40:])
    assert BiasFlag.objects.count() == 1
    page.get_by_role("button", name="Comment").click()
    expect(page.locator("#id_comment_text")).to_have_value("")
    assert BiasFlag.objects.filter(status=FlagStatus.OPEN, text=BIASED).count() == 1
    assert BiasFlag.objects.count() == 2

    # The patterns page counts saved text: two legacy flags, one rewritten, one open.
    page.goto(f"{live_server}/w/{slug}/thinking/flags/")
    row = page.locator("tr", has=page.get_by_role("link", name="Legacy"))
    expect(row.locator("td[data-label=Flagged]")).to_have_text("2")
    expect(row.locator("td[data-label=Rewritten]")).to_have_text("1")
    expect(row.locator("td[data-label=Open]")).to_have_text("1")
    page.screenshot(path=screenshot_dir / "live-note-3-patterns.png", full_page=True)
