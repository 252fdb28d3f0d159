"""End to end in Chromium: a leader posts news, the manager passes it on to the team with a
line, the rep reads it in the app (the line first) and in the digest email, caught by a real
SMTP server. Screenshots at desktop and phone width.

Run with `uv run pytest -m browser tests/browser/test_share_news.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from unstuck.core.models import Membership, Role, Team, Workspace
from unstuck.core.testing import PASSWORD, make_user
from unstuck.share.digest_send import digest_send
from unstuck.share.models import NewsPost, NewsRead, NewsRelay
from unstuck.share.tests.smtp import SmtpServer, parts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINE = "For East: lead with this on every renewal in Proposal this week."
TYPING = 15  # ms between keys; the gentle note waits 800 ms after the last one


@pytest.fixture
def people() -> dict[str, str]:
    workspace = Workspace.objects.create(name="Acme", slug="acme")
    leader = make_user("leader@acme.test", "Lee Leader")
    manager = make_user("manager@acme.test", "Mia Manager")
    rep = make_user("rep@acme.test", "Riley Rep")
    team = Team.objects.create(workspace=workspace, name="East", manager=manager)
    Membership.objects.create(workspace=workspace, user=leader, role=Role.LEADER)
    Membership.objects.create(workspace=workspace, user=manager, role=Role.MANAGER)
    Membership.objects.create(workspace=workspace, user=rep, role=Role.REP, team=team)
    return {"leader": leader.email, "manager": manager.email, "rep": rep.email}


def test_news_travels_down_to_the_rep_and_into_the_digest(
    live_server: Any,
    page: Any,
    people: dict[str, str],
    screenshot_dir: Any,
    sign_in: Callable[..., None],
) -> None:
    base = live_server.url
    page.set_default_timeout(90_000)  # a shared, busy machine
    sign_in(page, people["leader"], PASSWORD)
    page.goto(f"{base}/w/acme/share/news/new/")
    page.locator("#id_title").press_sequentially("Three-year terms get 12 % off", delay=TYPING)
    page.locator("#id_body").press_sequentially(
        "Deal desk approves 12 % off for three-year terms. https://wiki.example/pricing",
        delay=TYPING,
    )
    page.wait_for_timeout(1200)  # past the gentle note's debounce
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/share/news/*/")
    post = NewsPost.objects.get()

    sign_in(page, people["manager"], PASSWORD)
    page.goto(f"{base}/w/acme/share/news/")
    inbox = page.locator("#news-inbox")
    assert "Three-year terms get 12 % off" in inbox.inner_text()
    page.locator("#news-inbox textarea[name=line]").press_sequentially(LINE, delay=TYPING)
    page.wait_for_timeout(1200)
    page.locator("#news-inbox button[value=passed]").click()
    page.wait_for_load_state()
    assert "passed on" in page.locator("#news-inbox").inner_text()
    assert NewsRelay.objects.get().line == LINE

    sign_in(page, people["rep"], PASSWORD)
    for width, height, name in [(1280, 900, "desktop"), (390, 844, "phone")]:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/w/acme/share/news/")
        item = page.locator(".news-item").first
        text = item.inner_text()
        assert text.index(LINE) < text.index("Three-year terms get 12 % off")  # the line first
        page.screenshot(path=str(screenshot_dir / f"share-news-rep-{name}.png"), full_page=True)
    page.locator(".news-item a").first.click()
    page.wait_for_load_state()
    assert LINE in page.locator(".manager-line").inner_text()
    assert page.locator('a[href="https://wiki.example/pricing"]').count() == 1
    # The page marks it read by a POST once it has loaded (a GET writes nothing).
    page.wait_for_load_state("networkidle")
    assert NewsRead.objects.filter(post=post, user__email=people["rep"]).exists()
    for width, height, name in [(1280, 900, "desktop"), (390, 844, "phone")]:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{base}/w/acme/share/digest/")
        assert LINE in page.locator("#digest-news").inner_text()
        page.screenshot(path=str(screenshot_dir / f"share-this-week-{name}.png"), full_page=True)

    with SmtpServer() as smtp:
        report = digest_send(workspace=Workspace.objects.get(slug="acme"), force=True)
    assert report.sent == [people["rep"]]
    message = smtp.messages[0]
    text, html = parts(message)
    assert LINE in text and LINE in html
    assert message["List-Unsubscribe"]

    sign_in(page, people["leader"], PASSWORD)
    page.goto(f"{base}/w/acme/share/news/{post.pk}/")
    assert "Read by 1 of 2 reached" in page.locator(".readers").inner_text()
