"""API for the share app, mounted under /api/v1/workspaces."""

from __future__ import annotations

from ninja import Router

from unstuck.share.api_plays import router as plays_router

router = Router(tags=["share"])
router.add_router("", plays_router)
