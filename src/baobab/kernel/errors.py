"""The one exception tree of Baobab.

Every error an application raises derives from :class:`BaobabError` and carries a stable,
machine-readable ``code`` (``"<block>.<what>"``) that clients may depend on. The kind of an
error (its direct base below) tells the HTTP layer which status to use; nothing here knows HTTP.

- ``InvalidInput``      the request is malformed or breaks a rule; nothing was changed
- ``NotFound``          a named object does not exist
- ``Conflict``          the request clashes with current state (duplicate, stale version)
- ``Unauthenticated``   the caller is not who it claims to be, or did not say
- ``Forbidden``         the caller is known but has no right to do this
- ``Unavailable``       a dependency is down; the request may be retried
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class BaobabError(Exception):
    """Root of every Baobab error. ``code`` is stable; ``detail`` is for humans."""

    code: ClassVar[str] = "baobab.error"
    title: ClassVar[str] = "Baobab error"

    def __init__(self, detail: str, *, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: dict[str, Any] = dict(extra or {})


class InvalidInput(BaobabError):
    code = "baobab.invalid_input"
    title = "Invalid input"


class NotFound(BaobabError):
    code = "baobab.not_found"
    title = "Not found"


class Conflict(BaobabError):
    code = "baobab.conflict"
    title = "Conflict"


class Unauthenticated(BaobabError):
    code = "baobab.unauthenticated"
    title = "Authentication required"


class Forbidden(BaobabError):
    code = "baobab.forbidden"
    title = "Forbidden"


class Unavailable(BaobabError):
    code = "baobab.unavailable"
    title = "Service unavailable"


class CurrencyMismatch(InvalidInput):
    code = "kernel.currency_mismatch"
    title = "Currencies differ"


class InvalidMoney(InvalidInput):
    code = "kernel.invalid_money"
    title = "Invalid amount of money"
