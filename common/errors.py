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


class ModelUnavailable(RuntimeError):
    """The image model cannot be used right now (file missing or damaged, endpoint unreachable or failing).

    Not permanent: an endpoint that is down recovers, so the chain redelivers; the CLI shows the message (which
    names the fix for a local model file) and exits 2. Defined here so the CLI need not import the model code.
    """


class FetchRefused(PermanentError):
    """An image URL was refused (scheme, private address, size or time limit)."""


class InvalidPath(PermanentError, ValueError):
    """A document or collection path built from an id that cannot be one (``/`` in an id, empty segments).

    Permanent: the same message builds the same path on every delivery, so retrying cannot help. Ids are
    validated where they enter (``common.messages``); this is the backstop for a path the chain builds from
    data that slipped past (a record written before the check existed). A ``ValueError`` too, for callers that
    already catch that."""
