"""One simulated FSP: its configuration (the behaviour can change while it runs), its link to
the hub, the journal of what it received, and its payer and payee sides."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from baobab.fspsim.config import Behaviour, SimulatorConfig
from baobab.fspsim.hub import HubClient, HubRefused, Transport
from baobab.fspsim.journal import Journal
from baobab.fspsim.payee import Payee
from baobab.fspsim.payer import Payer
from baobab.kernel.clock import Clock, SystemClock


class Simulator:
    """A simulated FSP toward the hub at ``config.hub_url``."""

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        clock: Clock | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.hub = HubClient(config, clock=self.clock, transport=transport)
        self.journal = Journal()
        self.payer = Payer(
            lambda: self.config, hub=self.hub, journal=self.journal, clock=self.clock
        )
        self.payee = Payee(lambda: self.config, hub=self.hub, clock=self.clock)

    def behave(self, **changes: Any) -> Behaviour:
        """Change how the payee side answers from now on (validated like the config file)."""
        behaviour = Behaviour(**{**asdict(self.config.behaviour), **changes})
        self.config = replace(self.config, behaviour=behaviour)
        return self.config.behaviour

    async def register_parties(self) -> list[str]:
        """Tell the hub's oracle that this FSP holds each of its parties
        (``POST /participants/{Type}/{ID}``); the problems, if any, one per party."""
        problems = []
        for party in self.config.parties:
            path = f"/participants/{party.id_type}/{party.id_value}"
            key = ("PUT", "participants", f"{party.id_type}/{party.id_value}")
            future = self.journal.expect(key)
            try:
                await self.hub.send(
                    "POST",
                    path,
                    resource="participants",
                    destination=None,
                    body={"fspId": self.config.fsp_id, "currency": self.config.currency},
                )
                received = await self.journal.wait(
                    key, future, self.config.callback_timeout_seconds
                )
            except (HubRefused, TimeoutError) as exc:
                self.journal.forget(key, future)
                problems.append(f"{path}: {exc!r}")
                continue
            if received.error:
                problems.append(f"{path}: {received.body}")
        return problems

    async def aclose(self) -> None:
        await self.hub.aclose()
