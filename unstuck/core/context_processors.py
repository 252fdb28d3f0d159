from typing import Any

from django.http import HttpRequest


def workspace(request: HttpRequest) -> dict[str, Any]:
    """Expose the current membership (set by @workspace_view) to every template."""
    membership = getattr(request, "membership", None)
    return {
        "membership": membership,
        "workspace": membership.workspace if membership else None,
    }
