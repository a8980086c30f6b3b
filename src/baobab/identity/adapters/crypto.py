"""Encryption at rest for personal attributes: AES-256-GCM with keys from the identity keystore.

The keystore is a JSON file: ``{"active": "<key id>", "keys": {"<key id>": "<base64 32 bytes>"},
"secret": "<base64 >= 32 bytes>"}``. ``keys`` may hold retired keys so old rows still open; new
rows are sealed with ``active``. ``secret`` keys the partner tokens and OTP hashes. In
development the file is generated under ``<data_dir>/keys/`` on first start and marked as a
development key; production names a file it manages and refuses a development one.

A sealed value is ``key-id length (1 byte) | key id | nonce (12 bytes) | ciphertext+tag``; the
caller's associated data (the row's identity) binds it to its row, so a ciphertext copied to
another row does not open.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from baobab.kernel.errors import BaobabError, InvalidInput

DEVELOPMENT_MARK = "baobab_development_key"


class KeystoreError(InvalidInput):
    code = "identity.keystore_invalid"
    title = "Identity keystore unusable"


class SealBroken(BaobabError):
    """A stored value does not open: wrong key, wrong row, or tampered with."""

    code = "identity.seal_broken"
    title = "Encrypted value does not open"


class FieldCipher:
    """Seals and opens byte strings with AES-256-GCM under the keystore's keys."""

    def __init__(self, keys: dict[str, bytes], *, active: str, secret: bytes) -> None:
        if active not in keys:
            raise KeystoreError("the active key is not in the keystore")
        for kid, key in keys.items():
            if len(key) != 32 or not 1 <= len(kid.encode()) <= 64:
                raise KeystoreError("keys are 32 bytes (AES-256) with ids of 1-64 bytes")
        if len(secret) < 32:
            raise KeystoreError("the secret has at least 32 bytes")
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}
        self._active = active
        self._prefix = bytes([len(active.encode())]) + active.encode()
        self.secret = secret

    @classmethod
    def generate(cls) -> FieldCipher:
        return cls({"k1": AESGCM.generate_key(256)}, active="k1", secret=os.urandom(32))

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        nonce = os.urandom(12)
        return self._prefix + nonce + self._ciphers[self._active].encrypt(nonce, plaintext, context)

    @property
    def active(self) -> str:
        """The id of the key new values are sealed with."""
        return self._active

    @staticmethod
    def key_id(sealed: bytes) -> str:
        """The id of the key ``sealed`` was sealed with (read from its prefix)."""
        size = sealed[0] if sealed else 0
        return sealed[1 : 1 + size].decode(errors="replace")

    def open(self, sealed: bytes, *, context: bytes) -> bytes:
        size = sealed[0] if sealed else 0
        kid = sealed[1 : 1 + size].decode(errors="replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise SealBroken(f"no key {kid!r} in the keystore")
        nonce = sealed[1 + size : 13 + size]
        try:
            return cipher.decrypt(nonce, sealed[13 + size :], context)
        except InvalidTag as exc:
            raise SealBroken("the value does not open with its key and row") from exc


def load_keystore(path: Path | None, *, data_dir: Path, production: bool) -> FieldCipher:
    """The cipher from ``path``; in development, from a generated file under ``data_dir``."""
    if path is None:
        if production:
            raise KeystoreError("production needs BAOBAB_IDENTITY_KEYSTORE_FILE")
        path = keystore_path(None, data_dir=data_dir)
        if not path.exists():
            _write_new(path)
    try:
        document = json.loads(Path(path).read_text())
        keys = {kid: base64.b64decode(v) for kid, v in document["keys"].items()}
        secret = base64.b64decode(document["secret"])
        active = document["active"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeystoreError(f"{path} is not an identity keystore") from exc
    if production and document.get(DEVELOPMENT_MARK):
        raise KeystoreError(f"{path} is a development keystore; production needs one you manage")
    return FieldCipher(keys, active=active, secret=secret)


def new_keystore_document(*, development: bool) -> dict[str, object]:
    """A fresh keystore document (one AES-256 key and a secret), for writing to a file."""
    document: dict[str, object] = {
        "active": "k1",
        "keys": {"k1": base64.b64encode(AESGCM.generate_key(256)).decode()},
        "secret": base64.b64encode(os.urandom(32)).decode(),
    }
    if development:
        document[DEVELOPMENT_MARK] = True
    return document


def add_key(path: Path) -> str:
    """Add a fresh AES-256 key to the keystore file at ``path`` and make it the active one
    (the old keys stay, so old rows still open); returns the new key's id."""
    try:
        document = json.loads(path.read_text())
        keys = document["keys"]
        if not isinstance(keys, dict):
            raise TypeError("keys")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeystoreError(f"{path} is not an identity keystore") from exc
    number = len(keys) + 1
    while f"k{number}" in keys:
        number += 1
    kid = f"k{number}"
    keys[kid] = base64.b64encode(AESGCM.generate_key(256)).decode()
    document["active"] = kid
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle)
    os.replace(temporary, path)  # whole or not at all
    return kid


def keystore_path(path: Path | None, *, data_dir: Path) -> Path:
    """The keystore file in use: ``path``, or the development one under ``data_dir``."""
    return path or data_dir / "keys" / "identity-keystore.development.json"


def _write_new(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return
    with os.fdopen(descriptor, "w") as handle:
        json.dump(new_keystore_document(development=True), handle)
