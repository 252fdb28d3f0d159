"""API for the insights app, mounted under /api/v1/workspaces."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["insights"])
