"""What ``baobab serve`` gets from settings: bodies kept only when configured, a TSA only with
its certificate, and the exchange's workers running exactly while the app serves."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from baobab.asgi import create_app
from baobab.bootstrap import bootstrap
from baobab.infra.settings import Settings, UnsafeConfiguration
from baobab.kernel.clock import ManualClock


def settings_for(database_url: str, tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        public_url="http://testserver",
        **extra,  # type: ignore[arg-type]
    )


def test_workers_run_while_the_app_serves(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    settings = settings_for(database_url, tmp_path, exchange_store_bodies=True)
    platform = bootstrap(settings, clock=clock, upgrade=False)
    try:
        workers = platform.exchange.workers
        assert [job.name for job in workers.jobs] == ["checkpoints", "push-delivery"]
        assert platform.exchange.log.stores_bodies
        assert (tmp_path / "var" / "keys" / "exchange-bodies.development.json").exists()
        assert not workers.running
        with TestClient(create_app(settings, platform=platform)) as client:
            assert client.get("/health").status_code == 200
            assert workers.running
        assert not workers.running
    finally:
        platform.close()


def test_defaults_keep_no_bodies_and_ask_no_authority(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    platform = bootstrap(settings_for(database_url, tmp_path), clock=clock, upgrade=False)
    try:
        assert not platform.exchange.log.stores_bodies
        assert platform.exchange.log.stamper is None
    finally:
        platform.close()


def test_a_tsa_url_needs_its_certificate(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    settings = settings_for(database_url, tmp_path, exchange_tsa_url="http://tsa.test")
    with pytest.raises(UnsafeConfiguration):
        bootstrap(settings, clock=clock, upgrade=False)
