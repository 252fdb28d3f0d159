"""Writes of the share app (plays; news and the bench join here)."""
