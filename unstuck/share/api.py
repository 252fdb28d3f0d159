"""API for the share app, mounted under /api/v1/workspaces: each part has its own router."""

from __future__ import annotations

from ninja import Router

from unstuck.share.api_plays import router as plays_router
from unstuck.share.bench_api import router as bench_router
from unstuck.share.digest_api import router as digest_router
from unstuck.share.news_api import router as news_router

router = Router(tags=["share"])
router.add_router("", news_router)
router.add_router("", digest_router)
router.add_router("", bench_router)
router.add_router("", plays_router)
