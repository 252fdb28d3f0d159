"""A paginator told its count, for list pages that have already counted the same rows (the
queue's summary, the pipeline's totals): one scan of the member's deals instead of two."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.paginator import Paginator

if TYPE_CHECKING:
    _Paginator = Paginator[Any]
else:  # Paginator is generic in the stubs only
    _Paginator = Paginator


class CountedPaginator(_Paginator):
    """A paginator whose count the caller gives (it runs no COUNT query of its own)."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # the cached_property, filled in


def paginator(object_list: Any, per_page: int, count: int | None = None) -> _Paginator:
    """Django's paginator, or one told its count when the caller has it."""
    if count is None:
        return Paginator(object_list, per_page)
    return CountedPaginator(object_list, per_page, count=count)
