"""Bearer-token authentication for every block's routes: deny by default.

The app holds a :class:`TokenVerifier` (the directory's) in ``app.state.verifier``. A route asks
for ``Depends(require_scope("ledger:write"))``: no token or a bad token is refused with 401,
a valid token without the scope with 403.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Protocol

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


_bearer = HTTPBearer(auto_error=False, description="Access token from /directory/oauth2/token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


def principal_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The verified caller of ``request``; raises ``Unauthenticated`` when there is none."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise MissingToken("send an access token as 'Authorization: Bearer <token>'")
    verifier: TokenVerifier = request.app.state.verifier
    principal = verifier.verify(credentials.credentials)
    request.state.principal = principal
    return principal


def require_scope(
    scope: str,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Coroutine[Any, Any, Principal]]:
    """A dependency that admits only callers whose token carries ``scope``."""

    async def dependency(request: Request, credentials: Credentials) -> Principal:
        principal = principal_of(request, credentials)
        if not principal.has_scope(scope):
            raise MissingScope(f"this operation needs the scope {scope!r}", extra={"scope": scope})
        return principal

    return dependency
