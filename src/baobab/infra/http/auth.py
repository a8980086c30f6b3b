"""Bearer-token authentication for every block's routes: deny by default.

The app holds a :class:`TokenVerifier` (the directory's) in ``app.state.verifier``. A route asks
for ``Depends(require_scope("ledger:write"))``: no token or a bad token is refused with 401,
a valid token without the scope with 403.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from baobab.kernel.errors import Forbidden, Unauthenticated
from baobab.kernel.principal import Principal


class MissingToken(Unauthenticated):
    code = "auth.missing_token"
    title = "Access token required"


class MissingScope(Forbidden):
    code = "auth.missing_scope"
    title = "Access token lacks the scope"


class TokenVerifier(Protocol):
    """Turns a bearer access token into the :class:`Principal` it speaks for, or raises."""

    def verify(self, token: str) -> Principal: ...


_DESCRIPTION = "Access token from /directory/oauth2/token"
_HOW_TO_CALL = "send an access token as 'Authorization: Bearer <token>'"
_bearer = HTTPBearer(auto_error=False, description=_DESCRIPTION)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


def principal_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The verified caller of ``request``; raises ``Unauthenticated`` when there is none."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise MissingToken(_HOW_TO_CALL)
    return _verified(request, credentials.credentials)


def bearer_principal(request: Request, authorization: str) -> Principal:
    """The verified caller named by an ``Authorization`` header value; raises
    ``Unauthenticated`` when it is not a bearer token or does not verify."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if not (scheme and token) or scheme.lower() != "bearer":
        raise MissingToken(_HOW_TO_CALL)
    return _verified(request, token)


def _verified(request: Request, token: str) -> Principal:
    verifier: TokenVerifier = request.app.state.verifier
    principal = verifier.verify(token)
    request.state.principal = principal
    return principal


class ScopeGuard(HTTPBearer):
    """The dependency :func:`require_scope` returns: one call that reads the bearer token,
    verifies it and checks the scope (no nested dependency to solve per request), while
    OpenAPI still shows the routes as guarded by the ``HTTPBearer`` scheme. A block that checks
    more about its callers (a member's role) subclasses it and overrides :meth:`admit`."""

    def __init__(self, scope: str) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer", description=_DESCRIPTION)
        self.scope = scope

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        principal = bearer_principal(request, request.headers.get("authorization", ""))
        if not principal.has_scope(self.scope):
            raise MissingScope(
                f"this operation needs the scope {self.scope!r}", extra={"scope": self.scope}
            )
        self.admit(principal)
        return principal

    def admit(self, principal: Principal) -> None:
        """Further checks on a caller who has the scope; raises a Baobab error to refuse."""


def require_scope(scope: str) -> HTTPBearer:
    """A dependency that admits only callers whose token carries ``scope``."""
    return ScopeGuard(scope)
