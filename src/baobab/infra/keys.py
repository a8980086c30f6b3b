"""The instance's signing key: read from a file in production, generated on first start in
development. A generated key is marked as such, and production refuses it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from baobab.infra.settings import Settings, UnsafeConfiguration
from baobab.kernel.signing import Signer

DEVELOPMENT_MARK = "baobab_development_key"


def load_instance_signer(settings: Settings) -> Signer:
    """The key that signs this instance's access tokens and evidence."""
    path = settings.signing_key_file
    if path is None:
        path = settings.data_dir / "keys" / "instance-signing.development.jwk"
        if not path.exists():
            _write_private(path, {**Signer.generate("P-256").private_jwk(), DEVELOPMENT_MARK: True})
    document = json.loads(Path(path).read_text())
    if settings.environment == "production" and document.get(DEVELOPMENT_MARK):
        raise UnsafeConfiguration(f"{path} is a development key; production needs a key you manage")
    document.pop(DEVELOPMENT_MARK, None)
    return Signer(document)


def _write_private(path: Path, document: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle)
