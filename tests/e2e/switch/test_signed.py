"""A scheme that requires FSPIOP-Signature: the simulated FSPs sign every request and callback,
the hub verifies each against the sender's keys in the directory, and an unsigned request from
the same FSP is refused with 3105."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from baobab.fspsim import Simulator
from baobab.fspsim.payer import StepFailed
from tests.e2e.switch.conftest import PAYEE_PARTY, Network, running_network

pytestmark = pytest.mark.e2e


@pytest.fixture
def signed(database_url: str, tmp_path: Path) -> Iterator[Network]:
    with running_network(database_url, tmp_path, signed=True) as built:
        yield built


def test_signed_messages_flow_and_unsigned_ones_are_refused(signed: Network) -> None:
    outcome = signed.pay("900")
    assert outcome["state"] == "COMMITTED", outcome
    assert signed.position(signed.payer)["netPosition"] == "900"

    unsigned = Simulator(replace(signed.payer.sim.config, sign_requests=False))

    async def lookup() -> str | None:
        try:
            await unsigned.payer.lookup(PAYEE_PARTY.id_type, PAYEE_PARTY.id_value)
        except StepFailed as failed:
            return failed.code
        finally:
            await unsigned.aclose()
        return None

    assert asyncio.run(lookup()) == "3105"
