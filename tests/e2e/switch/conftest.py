"""The hub (every block, served by uvicorn on a free port, on SQLite and on PostgreSQL) and two
simulated FSPs (each its own uvicorn server), joined through the directory console and the hub
admin API exactly as an operator would; payments are started through the payer's control API."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from baobab.bootstrap import Platform
from baobab.demo.exchange import serving
from baobab.demo.hub import Funding, HubOperator, register_fsp_system, register_operator
from baobab.demo.stack import free_port, running_stack
from baobab.fspsim import Behaviour, Party, Simulator, SimulatorConfig, build_app
from baobab.infra.settings import Settings
from baobab.kernel.ids import new_id
from baobab.kernel.signing import Signer
from tests.support import ENGINES, empty_postgres

CURRENCY = "XOF"
LIQUIDITY = "1000000"
NET_DEBIT_CAP = "500000"
PAYEE_PARTY = Party("MSISDN", "22507000001", "Awa Kone", "Awa", "Kone")
PAYER_PARTY = Party("MSISDN", "22501000001", "Kofi Mensah")


@dataclass
class Fsp:
    """A simulated FSP as the test sees it: the simulator object and its control API."""

    sim: Simulator
    url: str

    @property
    def fsp_id(self) -> str:
        return self.sim.config.fsp_id

    def control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.sim.config.control_token}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)


@dataclass
class Network:
    """The hub, its operator, and two FSPs that have joined it."""

    platform: Platform
    operator: HubOperator
    payer: Fsp
    payee: Fsp

    def pay(self, amount: str, **extra: Any) -> dict[str, Any]:
        """One payment from the payer's customer to the payee's; its outcome."""
        body = {
            "payee": {"type": PAYEE_PARTY.id_type, "id": PAYEE_PARTY.id_value},
            "amount": amount,
            "currency": CURRENCY,
            **extra,
        }
        answer = self.payer.control("POST", "/sim/payments", json=body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def transfer(self, amount: str, **extra: Any) -> dict[str, Any]:
        """A transfer on a quote the payee gave the payer directly (no lookup, no quote through
        the hub); its outcome."""
        quote = self.payee.sim.payee.quote_answer(quote_request(amount, self.payer.fsp_id))
        body = {"payeeFsp": self.payee.fsp_id, "quote": quote, **extra}
        answer = self.payer.control("POST", "/sim/transfers", json=body)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def position(self, fsp: Fsp) -> dict[str, str]:
        return self.operator.position(fsp.fsp_id, CURRENCY)

    def positions(self) -> dict[str, dict[str, int]]:
        """Both FSPs' positions in minor units (XOF has none below the unit)."""
        return {
            fsp.fsp_id: {k: int(v) for k, v in self.position(fsp).items() if k != "currency"}
            for fsp in (self.payer, self.payee)
        }


@pytest.fixture
def fresh(network: Network) -> Network:
    """The shared network with the payee back to its default behaviour."""
    answer = network.payee.control("PUT", "/sim/behaviour", json=asdict(Behaviour()))
    assert answer.status_code == 200, answer.text
    return network


def quote_request(amount: str, payer_fsp: str) -> dict[str, Any]:
    return {
        "quoteId": new_id(),
        "transactionId": new_id(),
        "payee": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "22507000001"}},
        "payer": {
            "partyIdInfo": {
                "partyIdType": PAYER_PARTY.id_type,
                "partyIdentifier": PAYER_PARTY.id_value,
                "fspId": payer_fsp,
            }
        },
        "amountType": "SEND",
        "amount": {"currency": CURRENCY, "amount": amount},
        "transactionType": {
            "scenario": "TRANSFER",
            "initiator": "PAYER",
            "initiatorType": "CONSUMER",
        },
    }


def simulator(
    fsp_id: str, hub_url: str, party: Party, signer: Signer, *, signed: bool = False
) -> Simulator:
    config = SimulatorConfig(
        fsp_id=fsp_id,
        client_id=f"DEV/FSP/{fsp_id.upper()}/switch",
        hub_url=f"{hub_url}/switch",
        signer=signer,
        currency=CURRENCY,
        parties=(party,),
        control_token=f"control-{fsp_id}",
        callback_timeout_seconds=15,
        sign_requests=signed,
    )
    return Simulator(config)


@pytest.fixture(scope="module", params=ENGINES)
def hub_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database per engine for the module's network (the tests check what each
    payment changes, so they can share it)."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        empty_postgres(url)
        return url
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path_factory.mktemp("switch") / "baobab.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@contextmanager
def running_network(database_url: str, tmp_path: Path, *, signed: bool) -> Iterator[Network]:
    """The hub and two FSPs that joined it; ``signed``: the hub requires FSPIOP-Signature and
    the FSPs sign."""
    port = free_port()
    hub_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        port=port,
        public_url=hub_url,
        switch_require_signatures=signed,
    )
    with running_stack(settings) as platform:
        directory = platform.directory
        operator_signer = Signer.generate()
        register_operator(directory, "DEV/GOV/OPS/switch-ops", signer=operator_signer)
        operator = HubOperator(
            base_url=hub_url,
            client_id="DEV/GOV/OPS/switch-ops",
            signer=operator_signer,
            clock=platform.clock,
        )
        sims = []
        for fsp_id, party in (("banka", PAYER_PARTY), ("bankb", PAYEE_PARTY)):
            signer = Signer.generate()
            sim = simulator(fsp_id, hub_url, party, signer, signed=signed)
            register_fsp_system(directory, sim.config.client_id, name=fsp_id, signer=signer)
            sims.append(sim)
        try:
            with (
                serving(build_app(sims[0])) as payer_url,
                serving(build_app(sims[1])) as payee_url,
            ):
                payer, payee = Fsp(sims[0], payer_url), Fsp(sims[1], payee_url)
                join(operator, payer, payee)
                registered = payee.control("POST", "/sim/parties/register")
                assert registered.status_code == 200, registered.text
                yield Network(platform, operator, payer, payee)
        finally:
            operator.close()


@pytest.fixture(scope="module")
def network(hub_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """The hub and two FSPs that joined it, shared by the module's tests."""
    with running_network(hub_database, tmp_path_factory.mktemp("hub"), signed=False) as built:
        yield built


def join(operator: HubOperator, *fsps: Fsp) -> None:
    """Each FSP joins the hub."""
    funding = Funding(CURRENCY, LIQUIDITY, NET_DEBIT_CAP)
    for fsp in fsps:
        member = fsp.sim.config.client_id.rsplit("/", 1)[0]
        operator.join(fsp_id=fsp.fsp_id, member=member, fsp_url=fsp.url, funding=funding)
