"""Models of the share app, one module per part (plays; news and the bench join here)."""

from unstuck.share.models.plays import Play, PlayApplication, PlaySource, PlayStatus

__all__ = ["Play", "PlayApplication", "PlaySource", "PlayStatus"]
