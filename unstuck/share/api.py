"""API for the share app, mounted under /api/v1/workspaces."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["share"])
