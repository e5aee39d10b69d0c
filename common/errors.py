"""Error types that decide what a handler does: permanent errors are recorded and acknowledged (retrying cannot
help), anything else is raised so Pub/Sub redelivers and, after MAX_DELIVERY_ATTEMPTS, dead-letters."""

from __future__ import annotations


class PermanentError(Exception):
    """The input can never be processed. ``str(exc)`` is a clear, safe, user-facing reason."""


class BadImage(PermanentError):
    """Not a decodable image within our limits (corrupt, truncated, bomb, wrong type, too small)."""


class BadInput(PermanentError):
    """A listing, webhook body, kit or argument is invalid."""


class UnknownBrand(PermanentError):
    """No brand kit registered under this id."""


class Forbidden(PermanentError):
    """The caller is not authorised for this brand (a 403)."""


class FetchRefused(PermanentError):
    """An image URL was refused (scheme, private address, size or time limit)."""
