"""Settings: defaults give the embedded stack; production refuses what is only safe on a laptop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from baobab.infra.keys import DEVELOPMENT_MARK, load_instance_signer
from baobab.infra.settings import Settings, UnsafeConfiguration
from baobab.kernel.signing import Signer

PRODUCTION = {
    "environment": "production",
    "database_url": "postgresql://baobab@db/baobab",
    "public_url": "https://baobab.example",
    "identity_keystore_file": "/etc/baobab/identity.json",
}


def test_defaults_are_the_embedded_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BAOBAB_DATABASE_URL", "BAOBAB_DATA_DIR", "BAOBAB_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.effective_database_url == "sqlite:///var/baobab.db"
    assert settings.issuer == "http://127.0.0.1:8000/directory"
    assert settings.token_endpoint == "http://127.0.0.1:8000/directory/oauth2/token"


def test_settings_come_from_baobab_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAOBAB_INSTANCE", "KE")
    monkeypatch.setenv("BAOBAB_ACCESS_TOKEN_TTL_SECONDS", "120")
    settings = Settings()
    assert (settings.instance, settings.access_token_ttl_seconds) == ("KE", 120)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"signing_key_file": None}, "BAOBAB_SIGNING_KEY_FILE"),
        ({"database_url": None}, "PostgreSQL"),
        ({"database_url": "sqlite:///prod.db"}, "PostgreSQL"),
        ({"public_url": "http://baobab.example"}, "https://"),
        ({"identity_keystore_file": None}, "BAOBAB_IDENTITY_KEYSTORE_FILE"),
    ],
)
def test_production_refuses_unsafe_settings(
    changes: dict[str, object], message: str, tmp_path: Path
) -> None:
    values = {
        **PRODUCTION,
        "signing_key_file": tmp_path / "key.jwk",
        "identity_keystore_file": tmp_path / "identity.json",
        **changes,
    }
    with pytest.raises((UnsafeConfiguration, ValidationError), match=message):
        Settings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [{"instance": "has space"}, {"access_token_ttl_seconds": 5}, {"unknown": 1}, {"port": 0}],
)
def test_malformed_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**changes)  # type: ignore[arg-type]


def test_development_generates_a_key_once_and_keeps_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_instance_signer(settings)
    second = load_instance_signer(settings)
    assert first.kid == second.kid
    files = list((tmp_path / "keys").iterdir())
    assert len(files) == 1
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"
    assert json.loads(files[0].read_text())[DEVELOPMENT_MARK] is True


def test_production_refuses_a_development_key_and_accepts_its_own(tmp_path: Path) -> None:
    development = Settings(data_dir=tmp_path)
    load_instance_signer(development)
    generated = next((tmp_path / "keys").iterdir())
    with pytest.raises(UnsafeConfiguration, match="development key"):
        load_instance_signer(Settings(**PRODUCTION, signing_key_file=generated))  # type: ignore[arg-type]
    own = tmp_path / "own.jwk"
    signer = Signer.generate("Ed25519")
    own.write_text(json.dumps(signer.private_jwk()))
    assert load_instance_signer(Settings(**PRODUCTION, signing_key_file=own)).kid == signer.kid  # type: ignore[arg-type]
