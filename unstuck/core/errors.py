"""Domain errors: services raise them, views and the API turn them into clear messages."""


class UnstuckError(Exception):
    """A request that the domain refuses; the message is written for the person who asked."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(UnstuckError):
    """The person may see the object but not do this to it."""

    status_code = 403


class Conflict(UnstuckError):
    status_code = 409
