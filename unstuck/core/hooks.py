"""Seams between apps: what runs when a workspace's data changes (wired by later apps)."""

from __future__ import annotations


def workspace_data_changed(workspace_id: int) -> None:
    """Recompute what depends on a workspace's deals; called after an import commits."""
