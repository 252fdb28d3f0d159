"""The Share forms typed like a person, in Chromium: the play edit form, the bench ask form and
the digest schedule form. Each field is typed key by key with pauses longer than any debounce
on the page (the gentle note's is 800 ms), anything htmx swaps in is waited for, and what was
typed must be in the form after the pauses and stored exactly once it is saved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from unstuck.core.models import Membership
from unstuck.demo.generator import generate_demo
from unstuck.share.models import BenchAsk, DigestSchedule, Play

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAUSE_MS = 1_300  # longer than any debounce on these pages (800 ms)


def type_slowly(page: Page, selector: str, text: str) -> None:
    """Type in two halves with a pause between and after, as a person stops to think, then
    let any request the pause set off settle."""
    field = page.locator(selector)
    half = len(text) // 2
    field.press_sequentially(text[:half], delay=30)
    page.wait_for_timeout(PAUSE_MS)
    field.press_sequentially(text[half:], delay=30)
    page.wait_for_timeout(PAUSE_MS)
    page.wait_for_load_state("networkidle")
    expect(field).to_have_value(text)


@pytest.fixture
def demo(live_server: object, page: Page) -> str:
    generate_demo(deals=40, seed=3)
    page.set_viewport_size({"width": 1300, "height": 1000})
    return str(live_server)


def test_the_play_edit_form_keeps_everything_typed(
    demo: str, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    sign_in(page, "leader@demo.example")  # a leader may edit any play
    play = Play.objects.filter(workspace__slug="demo").order_by("pk").first()
    assert play is not None
    page.goto(f"{demo}/w/demo/share/plays/{play.pk}/edit/")
    title = "Bring finance in before the pricing call"
    situation = "The buyer's budget is frozen until the next quarter and nobody owns it."
    todo = "Book thirty minutes with their CFO; bring our deal desk; offer a phased start."
    say = "“Let's find the smallest first step your budget allows this quarter.”"
    for selector, text in (
        ("#id_title", title),
        ("#id_situation", situation),
        ("#id_what_to_do", todo),
        ("#id_what_to_say", say),
    ):
        page.locator(selector).fill("")
        type_slowly(page, selector, text)
    # Nothing typed was lost while pausing in the other fields.
    expect(page.locator("#id_title")).to_have_value(title)
    expect(page.locator("#id_situation")).to_have_value(situation)
    expect(page.locator("#id_what_to_do")).to_have_value(todo)
    page.screenshot(path=screenshot_dir / "share-play-edit-typed.png", full_page=True)
    page.get_by_role("button", name="Save play").click()
    expect(page.locator("h1")).to_have_text(title)
    play.refresh_from_db()
    assert (play.title, play.situation, play.what_to_do, play.what_to_say) == (
        title,
        situation,
        todo,
        say,
    )


def test_the_bench_ask_form_keeps_everything_typed(
    demo: str, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    sign_in(page, "manager@demo.example")
    from unstuck.core.access import deals_editable_by

    manager = Membership.objects.get(workspace__slug="demo", user__email="manager@demo.example")
    deal = deals_editable_by(manager).filter(status="open").order_by("pk").first()
    assert deal is not None
    before = BenchAsk.objects.count()
    page.goto(f"{demo}/w/demo/share/bench/deals/{deal.pk}/ask/")
    page.locator("#id_person").focus()
    page.keyboard.press("ArrowDown")  # a person picks someone with the keyboard
    chosen = page.locator("#id_person").input_value()
    what = "Can legal accept a 60-day payment term for this customer before Friday's call?"
    type_slowly(page, "#id_what", what)
    page.locator("#id_due_date").fill("2030-03-15")  # a date picker, not typed text
    page.wait_for_timeout(PAUSE_MS)
    expect(page.locator("#id_what")).to_have_value(what)
    expect(page.locator("#id_person")).to_have_value(chosen)
    page.screenshot(path=screenshot_dir / "share-bench-ask-typed.png", full_page=True)
    page.get_by_role("button", name="Ask", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert BenchAsk.objects.count() == before + 1
    ask = BenchAsk.objects.order_by("-pk").first()
    assert ask is not None
    assert (ask.what, ask.person_id, ask.deal_id, ask.due_date.isoformat()) == (
        what,
        int(chosen),
        deal.pk,
        "2030-03-15",
    )
    expect(page.locator("body")).to_contain_text(what)


def test_the_digest_schedule_form_takes_the_keyboard(
    demo: str, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    sign_in(page, "leader@demo.example")
    page.goto(f"{demo}/w/demo/share/digest/")
    weekday, hour = page.locator("#id_weekday"), page.locator("#id_hour")
    weekday.focus()
    weekday.press_sequentially("Th", delay=60)  # type-ahead picks Thursday
    page.wait_for_timeout(PAUSE_MS)
    hour.focus()
    hour.press_sequentially("15", delay=60)  # type-ahead picks 15:00
    page.wait_for_timeout(PAUSE_MS)
    page.wait_for_load_state("networkidle")
    expect(weekday).to_have_value("3")
    expect(hour).to_have_value("15")
    page.screenshot(path=screenshot_dir / "share-digest-schedule-typed.png", full_page=True)
    weekday.locator("xpath=ancestor::form").get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")
    schedule = DigestSchedule.objects.get(workspace__slug="demo")
    assert (schedule.weekday, schedule.hour) == (3, 15)
    # The form shows what was saved, not the defaults.
    expect(page.locator("#id_weekday")).to_have_value("3")
    expect(page.locator("#id_hour")).to_have_value("15")
