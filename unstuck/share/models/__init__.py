"""The share app's models, one module per part: plays, news and the digest, and the bench."""

from unstuck.share.models.bench import AskStatus, BenchAsk, BenchPerson, Function
from unstuck.share.models.digest import (
    DeliveryStatus,
    DigestDelivery,
    DigestSchedule,
    PersonPreference,
    Weekday,
)
from unstuck.share.models.news import Audience, NewsPost, NewsRead, NewsRelay, RelayDecision
from unstuck.share.models.plays import Play, PlayApplication, PlaySource, PlayStatus

__all__ = [
    "AskStatus",
    "Audience",
    "BenchAsk",
    "BenchPerson",
    "DeliveryStatus",
    "DigestDelivery",
    "DigestSchedule",
    "Function",
    "NewsPost",
    "NewsRead",
    "NewsRelay",
    "PersonPreference",
    "Play",
    "PlayApplication",
    "PlaySource",
    "PlayStatus",
    "RelayDecision",
    "Weekday",
]
