"""The directory: who is who and who may call what — the trust anchor every block asks.

Member institutions (``INSTANCE/CLASS/CODE``) and their subsystems, with roles; each subsystem's
public keys; OAuth 2.0 access tokens issued with ``private_key_jwt``; access rights, deny by
default.
"""

from baobab.directory.domain import (
    AccessDenied,
    AccessRight,
    ClientId,
    InvalidAccessToken,
    Member,
    MemberId,
    OAuthError,
    PublicKey,
    Role,
    ServiceRef,
    Subsystem,
)
from baobab.directory.services import DIRECTORY_SCOPES, DirectoryService
from baobab.directory.tokens import (
    JWT_BEARER,
    AccessTokenVerifier,
    IssuedToken,
    TokenPolicy,
    TokenRequest,
    TokenService,
    client_assertion,
)

__all__ = [
    "DIRECTORY_SCOPES",
    "JWT_BEARER",
    "AccessDenied",
    "AccessRight",
    "AccessTokenVerifier",
    "ClientId",
    "DirectoryService",
    "InvalidAccessToken",
    "IssuedToken",
    "Member",
    "MemberId",
    "OAuthError",
    "PublicKey",
    "Role",
    "ServiceRef",
    "Subsystem",
    "TokenPolicy",
    "TokenRequest",
    "TokenService",
    "client_assertion",
]
