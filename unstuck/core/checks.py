"""Deployment checks of our own settings, run by `unstuck check --deploy`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

DEMO_SITE_URL = "http://127.0.0.1:8000"


@register(Tags.security, deploy=True)
def site_url_is_set(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """Emails link to UNSTUCK_SITE_URL: left at the demo's address, no one could open them."""
    if settings.SITE_URL != DEMO_SITE_URL:
        return []
    return [
        Warning(
            f"UNSTUCK_SITE_URL is not set: links in emails point to the demo's {DEMO_SITE_URL}.",
            hint="Set UNSTUCK_SITE_URL to where people reach Unstuck, "
            "e.g. https://unstuck.example.com.",
            id="unstuck.W001",
        )
    ]
