"""The pages work under the Content-Security-Policy (script-src 'self', no inline script):
htmx swaps, the selects that submit themselves, the forms that clear after an htmx answer and
the API docs, with no policy violation reported by Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from unstuck.cocreate.models import Session
from unstuck.demo.generator import generate_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every violation the page sees, recorded before any page script runs.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []"))


def test_the_pages_work_with_the_policy_on_and_nothing_is_blocked(
    live_server: object, page: Page, screenshot_dir: Path, sign_in: Callable[..., None]
) -> None:
    generate_demo(deals=120, seed=4)
    base = str(live_server)
    seen: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda m: seen.append(m.text) if "Content Security" in m.text else None)
    page.set_viewport_size({"width": 1280, "height": 900})

    first = page.goto(f"{base}/sign-in/")
    assert first is not None and "script-src 'self'" in first.headers["content-security-policy"]
    sign_in(page, "manager@demo.example")
    expect(page.get_by_role("heading", name="Innovation queue")).to_be_visible()

    # htmx from our static files swaps the pipeline table in place.
    page.goto(f"{base}/w/demo/deals/")
    page.get_by_label("Stage").select_option(label="Negotiation")
    expect(page).to_have_url(re.compile(r"stage=\d+"))
    expect(page.locator("table.deals tbody tr .chip").first).to_have_text("Negotiation")
    assert violations(page) == []

    # A select that submits its form (data-autosubmit, was an inline onchange).
    page.goto(f"{base}/w/demo/thinking/questions/")
    page.get_by_label("Bias").select_option(index=1)
    expect(page).to_have_url(re.compile(r"bias=\w+"))
    assert violations(page) == []

    # A session form clears itself once htmx swapped the answer in (was hx-on).
    session = Session.objects.filter(phase="diverge").first() or Session.objects.first()
    assert session is not None
    page.goto(f"{base}/w/demo/cocreate/sessions/{session.pk}/")
    if page.locator("#id_title").count():
        page.locator("#id_title").press_sequentially("Share the integration risk", delay=20)
        page.wait_for_timeout(700)  # longer than the gentle note's debounce
        page.get_by_role("button", name="Add option").click()
        expect(page.locator("#live")).to_contain_text("Share the integration risk")
        expect(page.locator("#id_title")).to_have_value("")
    page.screenshot(path=screenshot_dir / "session-csp-1280.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshot_dir / "session-csp-phone.png", full_page=True)
    assert violations(page) == []

    # The API docs (Swagger UI from django-ninja's static files) render under the policy.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/api/v1/docs")
    expect(page.get_by_text("Unstuck API").first).to_be_visible()
    assert violations(page) == []
    assert seen == []
