"""The simulator's own HTTP/1.1 server: FSPIOP requests and the control API over a real socket,
answers in the order the requests came, and malformed or oversized requests refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest

from baobab.fspsim.app import SimulatorApp
from baobab.fspsim.asgi import MAX_BODY, Answer, Call
from baobab.fspsim.server import listen
from tests.unit.fspsim.support import FakeHub, hub_headers, settled, simulator

PARTY = "/parties/MSISDN/22507000001"

Exchange = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: sim", *(f"{k}: {v}" for k, v in headers.items())]
    if body:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One answer: status, headers (lower-case names) and body."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ")[1])
    headers = {}
    for line in head[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def served(hub: FakeHub, exchange: Exchange, app: type[SimulatorApp] = SimulatorApp) -> None:
    """Run ``exchange`` over one connection to a simulator served on a free port."""

    async def scenario() -> None:
        sim = simulator(hub)
        server = await listen(app(sim), host="127.0.0.1", port=0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            await exchange(reader, writer)
        finally:
            writer.close()
            server.close()
            await sim.aclose()

    asyncio.run(scenario())


def test_a_lookup_is_accepted_and_answered_by_callback_over_a_kept_alive_connection() -> None:
    hub = FakeHub()

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            writer.write(request("GET", PARTY, hub_headers("parties", body=False)))
            status, headers, body = await answer(reader)
            assert (status, body) == (202, b"")
            assert headers["date"].endswith(" GMT")
            assert "connection" not in headers
        await settled(hub, 2)
        assert [r.method for r in hub.sent] == ["PUT", "PUT"]

    served(hub, exchange)


def test_pipelined_requests_are_answered_in_order_even_when_the_first_waits() -> None:
    hub = FakeHub()

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        control = {"authorization": "Bearer control"}
        writer.write(
            request("GET", "/sim/transfers/unknown?timeout=0.2", control)
            + request("GET", PARTY, hub_headers("parties", body=False))
            + request("GET", "/sim/journal?resource=parties", control)
        )
        first, second, third = [await answer(reader) for _ in range(3)]
        assert first[0] == 404
        assert second[0] == 202
        assert third[0] == 200
        [entry] = json.loads(third[2])["received"]
        assert (entry["method"], entry["id"]) == ("GET", "MSISDN/22507000001")

    served(hub, exchange)


def test_a_chunked_quote_request_is_read_whole() -> None:
    hub = FakeHub()

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = json.dumps(
            {
                "quoteId": "q1",
                "transactionId": "t1",
                "payee": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "1"}},
                "payer": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "2"}},
                "amountType": "SEND",
                "amount": {"currency": "XOF", "amount": "100"},
                "transactionType": {"scenario": "TRANSFER", "initiator": "PAYER"},
            }
        ).encode()
        headers = hub_headers("quotes", body=True) | {"transfer-encoding": "chunked"}
        chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])
        writer.write(request("POST", "/quotes", headers) + chunks)
        status, _, _ = await answer(reader)
        assert status == 202
        await settled(hub, 1)
        assert hub.bodies("PUT", "/quotes/q1")[0]["transferAmount"]["amount"] == "100"

    served(hub, exchange)


def test_a_request_without_fspiop_headers_gets_its_error_and_the_connection_stays() -> None:
    hub = FakeHub()

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(request("GET", PARTY, {}))
        status, headers, body = await answer(reader)
        assert status == 400
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["errorInformation"]["errorCode"] == "3102"
        writer.write(request("GET", "/nowhere", {}))
        assert (await answer(reader))[0] == 404
        assert hub.sent == []

    served(hub, exchange)


def test_an_oversized_body_is_413_and_a_malformed_request_400_then_closed() -> None:
    hub = FakeHub()

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        big = b"{" + b" " * MAX_BODY + b"}"
        writer.write(request("POST", "/quotes", hub_headers("quotes", body=True), big))
        status, headers, _ = await answer(reader)
        assert status == 413
        assert headers["connection"] == "close"
        assert await reader.read() == b""

    served(hub, exchange)

    async def malformed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        status, headers, _ = await answer(reader)
        assert status == 400
        assert headers["connection"] == "close"
        assert await reader.read() == b""

    served(hub, malformed)


def test_connection_close_is_honoured() -> None:
    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(request("GET", "/sim/journal", {"connection": "close"}))
        status, headers, _ = await answer(reader)
        assert status == 401
        assert headers["connection"] == "close"
        assert await reader.read() == b""

    served(FakeHub(), exchange)


class FaultyApp(SimulatorApp):
    """A simulator with a bug behind ``/boom`` (at once) and ``/sim/boom`` (once awaited)."""

    def handle(self, call: Call) -> Answer | Awaitable[Answer]:
        if call.segments == ("boom",):
            raise RuntimeError("a bug")
        if call.segments == ("sim", "boom"):
            return self.fail_later()
        return super().handle(call)

    async def fail_later(self) -> Answer:
        await asyncio.sleep(0)
        raise RuntimeError("a later bug")


def test_a_fault_of_the_simulator_is_a_500_and_the_connection_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for path in ("/boom", "/sim/boom"):
            writer.write(request("GET", path, {}))
            status, _, body = await answer(reader)
            assert status == 500
            assert "bug" in json.loads(body)["detail"]
        writer.write(request("GET", "/sim/journal", {}))
        assert (await answer(reader))[0] == 401

    served(FakeHub(), exchange, FaultyApp)
    assert "the simulator failed" in caplog.text
