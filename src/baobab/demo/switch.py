"""Chapter: the payment switch. Two FSPs — a bank and a mobile-money provider, each a simulated
FSP serving FSPIOP on its own port — join the hub: registered at the directory console, then as
participants through the hub admin API with their callback endpoints, a liquidity deposit and a
Net Debit Cap. Their customers pay each other through the switch (lookup, quote with the payee
FSP's fee, transfer with the ILP condition, fulfilment); a payment beyond the payer's cap is
refused; the operator closes the settlement window and settles it (deferred multilateral net
settlement), with the net positions printed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx

from baobab.bootstrap import Platform
from baobab.demo.exchange import serving
from baobab.demo.hub import Funding, HubOperator, register_fsp_system, register_operator
from baobab.demo.story import Story, expect
from baobab.fspsim import Party, Simulator, SimulatorConfig, build_app
from baobab.kernel.signing import Signer

OPERATOR = "GOV/OPS/switch-ops"
CURRENCY = "XOF"
FUNDING = Funding(CURRENCY, liquidity="5000000", net_debit_cap="2000000")
FSPS = {
    "afribank": ("COM/AFRIBANK/switch", "Afribank", Party("MSISDN", "22501000001", "Kofi Mensah")),
    "mobicash": ("COM/MOBICASH/switch", "MobiCash", Party("MSISDN", "22507000001", "Awa Kone")),
}


class SwitchChapter:
    """The operator, the two simulated FSPs (served while the chapter runs) and their steps."""

    def __init__(self, platform: Platform, fsps: dict[str, tuple[Simulator, str]]) -> None:
        self.platform = platform
        self.fsps = fsps
        self.signer = Signer.generate()
        self.window_id = 0
        self.operator = HubOperator(
            base_url=platform.settings.public_url,
            client_id=f"{platform.settings.instance}/{OPERATOR}",
            signer=self.signer,
            clock=platform.clock,
        )

    def close(self) -> None:
        self.operator.close()

    def control(self, fsp_id: str, method: str, path: str, **kwargs: Any) -> Any:
        sim, url = self.fsps[fsp_id]
        headers = {"authorization": f"Bearer {sim.config.control_token}"}
        answer = httpx.request(method, f"{url}{path}", headers=headers, timeout=60, **kwargs)
        expect(answer.status_code == 200, f"{fsp_id} {path}: {answer.status_code} {answer.text}")
        return answer.json()

    def positions(self) -> str:
        parts = []
        for fsp_id in self.fsps:
            p = self.operator.position(fsp_id, CURRENCY)
            parts.append(
                f"{fsp_id} net {p['netPosition']}, reserved {p['reserved']}, "
                f"headroom {p['headroom']}"
            )
        return "; ".join(parts)

    # --- steps -----------------------------------------------------------------------------

    def register(self) -> str:
        directory = self.platform.directory
        register_operator(directory, self.operator.client.client_id, signer=self.signer)
        for fsp_id, (sim, _) in self.fsps.items():
            name = FSPS[fsp_id][1]
            register_fsp_system(
                directory, sim.config.client_id, name=name, signer=sim.config.signer
            )
        return "switch operator and two FSP systems (role fsp, scope switch:fspiop) with keys"

    def join(self) -> str:
        for fsp_id, (sim, url) in self.fsps.items():
            member = sim.config.client_id.rsplit("/", 1)[0]
            self.operator.join(fsp_id=fsp_id, member=member, fsp_url=url, funding=FUNDING)
        return (
            f"each deposited {FUNDING.liquidity} {CURRENCY}, Net Debit Cap "
            f"{FUNDING.net_debit_cap}; endpoints registered — {self.positions()}"
        )

    def parties(self) -> str:
        for fsp_id in self.fsps:
            self.control(fsp_id, "POST", "/sim/parties/register")
        return ", ".join(
            f"{p.name} ({p.id_type} {p.id_value}) at {f}" for f, (_, _, p) in FSPS.items()
        )

    def pay(self, payer: str, payee: str, amount: str) -> str:
        party = FSPS[payee][2]
        body = {
            "payee": {"type": party.id_type, "id": party.id_value},
            "amount": amount,
            "currency": CURRENCY,
        }
        outcome = self.control(payer, "POST", "/sim/payments", json=body)
        expect(outcome["state"] == "COMMITTED", f"the payment ended {outcome}")
        ms = outcome["seconds"].get("total", 0) * 1000
        return (
            f"{amount} {CURRENCY} to {party.name}: looked up at {outcome['payeeFsp']}, quoted, "
            f"COMMITTED in {ms:.0f} ms — {self.positions()}"
        )

    def beyond_cap(self) -> str:
        party = FSPS["mobicash"][2]
        body = {
            "payee": {"type": party.id_type, "id": party.id_value},
            "amount": "3000000",
            "currency": CURRENCY,
        }
        outcome = self.control("afribank", "POST", "/sim/payments", json=body)
        expect(outcome["state"] != "COMMITTED", "a payment beyond the Net Debit Cap went through")
        return (
            f"3000000 {CURRENCY} refused with {outcome['errorCode']} "
            f"({outcome['errorDescription'][:60]}) — {self.positions()}"
        )

    def close_window(self) -> str:
        report = self.operator.close_window()
        self.window_id = int(report["windowId"])
        nets = {p["fspId"]: p["net"] for p in report["positions"]}
        expect(
            nets.get("afribank") == "-110000" and nets.get("mobicash") == "110000",
            f"unexpected net positions {report['positions']}",
        )
        rows = len(self.operator.report_csv(self.window_id).splitlines()) - 1
        lines = ", ".join(
            f"{p['fspId']} sent {p['sent']} received {p['received']} net {p['net']}"
            for p in report["positions"]
        )
        return f"window {self.window_id} {report['state']}: {lines} (CSV report: {rows} rows)"

    def settle(self) -> str:
        started = time.monotonic()
        settled = self.operator.settle_window(self.window_id)
        waited = time.monotonic() - started
        expect(settled["state"] == "SETTLED", f"the window is {settled['state']}")
        liquidity = {f: self.operator.position(f, CURRENCY)["liquidity"] for f in self.fsps}
        expect(
            liquidity == {"afribank": "2890000", "mobicash": "3110000"},
            f"liquidity after settlement: {liquidity}",
        )
        return (
            f"window {self.window_id} SETTLED after the hub's grace ({waited:.0f} s); free "
            f"liquidity afribank {liquidity['afribank']}, mobicash {liquidity['mobicash']} — "
            f"{self.positions()}"
        )


@contextmanager
def simulated_fsps(platform: Platform) -> Iterator[dict[str, tuple[Simulator, str]]]:
    """The two FSP simulators, each served on a free port while the block runs."""
    hub_url = f"{platform.settings.public_url}/switch"
    with ExitStack() as stack:
        served = {}
        for fsp_id, (client, _, party) in FSPS.items():
            config = SimulatorConfig(
                fsp_id=fsp_id,
                client_id=f"{platform.settings.instance}/{client}",
                hub_url=hub_url,
                signer=Signer.generate(),
                currency=CURRENCY,
                parties=(party,),
                control_token=f"demo-{fsp_id}",
            )
            sim = Simulator(config)
            served[fsp_id] = (sim, stack.enter_context(serving(build_app(sim))))
        yield served


def chapter(story: Story, platform: Platform) -> None:
    """Run the switch chapter."""
    story.chapter("Payment switch", "two FSPs pay each other through the hub (FSPIOP)")
    with simulated_fsps(platform) as fsps:
        steps = SwitchChapter(platform, fsps)
        try:
            story.step("Operator and FSPs register at the console", steps.register)
            story.step("Both FSPs join the hub and fund their positions", steps.join)
            story.step("Each FSP tells the hub which customers it holds", steps.parties)
            story.step(
                "Kofi (Afribank) pays Awa (MobiCash)",
                lambda: steps.pay("afribank", "mobicash", "150000"),
            )
            story.step(
                "Awa (MobiCash) pays Kofi (Afribank)",
                lambda: steps.pay("mobicash", "afribank", "40000"),
            )
            story.step("A payment beyond the Net Debit Cap is refused", steps.beyond_cap)
            story.step("The operator closes the settlement window", steps.close_window)
            story.step("The window is settled: funds move, positions reset", steps.settle)
        finally:
            steps.close()
