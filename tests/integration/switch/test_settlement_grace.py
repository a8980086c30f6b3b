"""The settlement grace after closing a window comes from the settings
(``BAOBAB_SWITCH_SETTLEMENT_GRACE_SECONDS``), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from baobab.bootstrap import Platform, bootstrap
from baobab.infra.settings import Settings
from baobab.kernel.clock import ManualClock
from baobab.switch.settlement import WindowStateConflict


@pytest.fixture
def short_grace(settings: Settings, clock: ManualClock) -> Iterator[Platform]:
    built = bootstrap(
        settings.model_copy(update={"switch_settlement_grace_seconds": 2.0}),
        clock=clock,
        upgrade=False,
    )
    yield built
    built.close()


def test_the_grace_is_a_setting(short_grace: Platform, clock: ManualClock) -> None:
    settlement = short_grace.switch.settlement
    window = settlement.close(actor="test")
    with pytest.raises(WindowStateConflict, match="less than 2 s"):
        settlement.start(actor="test", window_id=window.window_id)
    clock.advance(timedelta(seconds=3))
    report = settlement.start(actor="test", window_id=window.window_id)
    assert report.window.state.value == "PENDING_SETTLEMENT"


def test_the_default_grace_is_thirty_seconds(platform: Platform, clock: ManualClock) -> None:
    settlement = platform.switch.settlement
    window = settlement.close(actor="test")
    clock.advance(timedelta(seconds=3))
    with pytest.raises(WindowStateConflict, match="less than 30 s"):
        settlement.start(actor="test", window_id=window.window_id)


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAOBAB_SWITCH_SETTLEMENT_GRACE_SECONDS", "5")
    assert Settings().switch_settlement_grace_seconds == 5.0
    monkeypatch.setenv("BAOBAB_SWITCH_SETTLEMENT_GRACE_SECONDS", "-1")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings()
