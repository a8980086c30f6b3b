"""AES-256-GCM for message bodies kept in the log, with keys from a keystore file.

The keystore is JSON: ``{"active": "<key id>", "keys": {"<key id>": "<base64url 32 bytes>"}}``.
New bodies are sealed with the active key and record its id; older keys stay in the file so
bodies sealed before a rotation still open. In development a missing keystore is generated
(marked as such); production refuses a generated one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from baobab.exchange.domain import BodyUnreadable
from baobab.kernel.errors import InvalidInput
from baobab.kernel.ids import new_id
from baobab.kernel.signing import b64url, b64url_decode

DEVELOPMENT_MARK = "baobab_development_key"


class InvalidKeystore(InvalidInput):
    code = "exchange.invalid_keystore"
    title = "Invalid message body keystore"


class AesGcmBodyCipher:
    """Seals and opens bodies with AES-256-GCM (96-bit random nonces)."""

    def __init__(self, keys: Mapping[str, bytes], *, active: str) -> None:
        if active not in keys:
            raise InvalidKeystore(f"the active key {active!r} is not in the keystore")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise InvalidKeystore(f"key {key_id!r} is not 32 bytes (AES-256)")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active

    @property
    def key_id(self) -> str:
        return self._active

    def seal(self, plaintext: bytes, *, context: bytes) -> tuple[str, bytes, bytes]:
        nonce = os.urandom(12)
        return self._active, nonce, self._keys[self._active].encrypt(nonce, plaintext, context)

    def open(self, key_id: str, nonce: bytes, ciphertext: bytes, *, context: bytes) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise BodyUnreadable(f"the key {key_id!r} is not in the keystore")
        try:
            return key.decrypt(nonce, ciphertext, context)
        except InvalidTag as exc:
            raise BodyUnreadable("the stored body fails its integrity check") from exc


def load_body_cipher(path: Path, *, production: bool) -> AesGcmBodyCipher:
    """The cipher of the keystore at ``path``; generated there first in development."""
    if not path.exists():
        if production:
            raise InvalidKeystore(f"no message body keystore at {path}")
        key_id = new_id()
        document = {
            "active": key_id,
            "keys": {key_id: b64url(AESGCM.generate_key(bit_length=256))},
            DEVELOPMENT_MARK: True,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(document, handle)
    try:
        document = json.loads(path.read_text())
        if production and document.get(DEVELOPMENT_MARK):
            raise InvalidKeystore(f"{path} is a development keystore; production needs its own")
        keys = {str(k): b64url_decode(str(v)) for k, v in dict(document["keys"]).items()}
        active = str(document["active"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidKeystore(f"{path} is not a message body keystore") from exc
    return AesGcmBodyCipher(keys, active=active)
