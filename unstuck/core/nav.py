"""The main navigation of the signed-in layout, built once per process for each workspace,
role, page and open-request count, not on every page.

The links depend on nothing else: which ones a member sees depends on their role, where they
point on the workspace's slug, which one is highlighted on the page's route (app and URL name),
and a rep's "My requests" shows how many are open. The layout's template built the same
navigation on every page with 17 `{% url %}` tags and a test of the route per link, about a
millisecond of every signed-in page; here it is rendered once for each such combination and
kept (a bounded cache per process, so a changed role or slug is simply another entry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from unstuck.core.models import Role

# Route → is this link the page's section? (app name, URL name), as the layout decided it.
Here = Callable[[str, str], bool]

MANAGERS = frozenset({Role.MANAGER, Role.LEADER})
MEMBERS = frozenset({Role.REP, Role.MANAGER, Role.LEADER})
EVERYONE = frozenset({Role.REP, Role.MANAGER, Role.LEADER, Role.PARTNER})


@dataclass(frozen=True)
class Link:
    key: str
    label: str
    route: str
    roles: frozenset[str]
    here: Here


LINKS = (
    Link(
        "queue",
        "Innovation queue",
        "investigate:queue",
        MANAGERS,
        lambda app, name: app == "investigate" and name != "my-requests",
    ),
    Link("pipeline", "Pipeline", "deals:pipeline", EVERYONE, lambda app, name: app == "deals"),
    Link(
        "my-requests",
        "My requests",
        "investigate:my-requests",
        MEMBERS,
        lambda app, name: name == "my-requests",
    ),
    Link(
        "sessions",
        "Sessions",
        "cocreate:sessions",
        EVERYONE,
        lambda app, name: app == "cocreate" and name not in {"levers", "approvals"},
    ),
    Link("levers", "Levers", "cocreate:levers", MANAGERS, lambda app, name: name == "levers"),
    Link(
        "approvals",
        "Approvals",
        "cocreate:approvals",
        MANAGERS,
        lambda app, name: name == "approvals",
    ),
    Link(
        "training",
        "Training",
        "thinking:training",
        EVERYONE,
        lambda app, name: app == "thinking" and name not in {"questions", "question-edit"},
    ),
    Link(
        "questions",
        "Questions",
        "thinking:questions",
        EVERYONE,
        lambda app, name: name in {"questions", "question-edit"},
    ),
    Link(
        "news",
        "News",
        "share:news",
        EVERYONE,
        lambda app, name: app == "share" and name.startswith("news"),
    ),
    Link("digest", "This week", "share:digest", EVERYONE, lambda app, name: name == "digest"),
    Link(
        "bench",
        "Bench",
        "share:bench",
        EVERYONE,
        lambda app, name: (app == "share" and name.startswith("benc")) or name.startswith("ask-"),
    ),
    Link(
        "plays",
        "Playbook",
        "share:plays",
        EVERYONE,
        lambda app, name: app == "share" and "play" in name,
    ),
    Link("insights", "Insights", "insights:page", MANAGERS, lambda app, name: app == "insights"),
    Link(
        "imports",
        "Imports",
        "imports:list",
        frozenset({Role.LEADER}),
        lambda app, name: app == "imports",
    ),
    Link(
        "settings",
        "People",  # "Settings" for a leader, who may change them
        "workspace-settings",
        MEMBERS,
        lambda app, name: name == "workspace-settings",
    ),
)


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url: str
    active: bool
    count: int = 0


def nav_items(slug: str, role: str, app: str, name: str, open_requests: int) -> list[NavItem]:
    """The links a member of this role sees, in order, each marked active or not."""
    items = []
    for link in LINKS:
        if role not in link.roles:
            continue
        label = "Settings" if link.key == "settings" and role == Role.LEADER else link.label
        items.append(
            NavItem(
                key=link.key,
                label=label,
                url=reverse(link.route, kwargs={"slug": slug}),
                active=link.here(app, name),
                count=open_requests if link.key == "my-requests" else 0,
            )
        )
    return items


@lru_cache(maxsize=2048)
def nav_html(slug: str, role: str, app: str, name: str, open_requests: int) -> SafeString:
    """The navigation's HTML for this combination, rendered once per process."""
    items = nav_items(slug, role, app, name, open_requests)
    return mark_safe(render_to_string("core/_partials/nav.html", {"items": items}))
