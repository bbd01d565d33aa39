"""Typed errors of the Evolution client, one per situation the contract describes.

Every error has a one-line `str()` that names the problem and never contains a secret.
`transient` errors (timeouts, connection errors, 5xx, 429) are retried by the client;
4xx errors are not.
"""

from __future__ import annotations


class EvolutionError(Exception):
    """Base of every Evolution client error."""

    transient: bool = False
    # how many requests were made; set by the client on every error it raises
    attempts: int

    def __init__(self, message: str, *, status: int | None = None, route: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.route = route

    def __str__(self) -> str:  # one line, always
        text = " ".join(self.message.split())
        return f"{text} ({self.route})" if self.route else text


class NotConnectedError(EvolutionError):
    """400 `The "x" instance is not connected` (logout of a `close` instance)."""


class BadRequestError(EvolutionError):
    """Any other 400 (validation, `Token already exists`, `number is required`, ...)."""


class UnauthorizedError(EvolutionError):
    """401: the apikey is missing or wrong. Note 404/403 are answered before 401 (contract §1)."""


class NameInUseError(EvolutionError):
    """403 `This name "x" is already in use.`"""


class NotFoundError(EvolutionError):
    """404 `does not exist`, or fetchInstances' 500 `{"error":true,...}` "not found"."""


class RateLimitedError(EvolutionError):
    """429 Too Many Requests."""

    transient = True
    # seconds asked by `Retry-After` (None: no usable header); set by `error_from_response`
    retry_after: float | None = None


class ServerError(EvolutionError):
    """5xx other than fetchInstances' not-found."""

    transient = True


class EvolutionTimeoutError(EvolutionError):
    """The request did not complete within the timeout."""

    transient = True


class UnreachableError(EvolutionError):
    """Connection refused / DNS failure / connection reset."""

    transient = True


class MalformedResponseError(EvolutionError):
    """The body is not the JSON the contract says (HTML error page, truncated JSON, wrong type)."""
