"""Benchmark: the CPU one request costs the platform's outbound HTTP/1.1 client
(:mod:`baobab.infra.http.client`), as the exchange gateway, the switch's callback sender and the
simulated FSP use it.

Run from the repository root: ``.venv/bin/python -m bench.http_client [--quick]``.

A bare asyncio server (uvloop, its own process) answers every request with a fixed 1 KB body;
this process sends 1 KB ``POST`` requests with three headers one after another over one kept-alive
connection, in blocks of 2,000, and prints ``client_cpu_us_per_request`` (``time.process_time``
per request, median and minimum over the blocks) for the client alone, the gateway's provider
client, the switch's callback sender and the simulated FSP's transport to the hub. Every answer
is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import uvloop

from baobab.exchange.adapters.http1_client import Http1ProviderClient
from baobab.exchange.ports import ProviderRequest
from baobab.fspsim.hub import HttpTransport
from baobab.infra.http.client import HttpClient
from baobab.switch.adapters.http import HttpCallbackSender
from baobab.switch.domain import Callback

BENCH = "http_client"
BODY = b"x" * 1024
HEADERS = {"content-type": "application/json", "x-signature": "s" * 200, "x-request-id": "r1"}


async def serve(port: int) -> None:
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(BODY), BODY)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.lower().split(b"\r\n")
                length = next(int(x[15:]) for x in lines if x.startswith(b"content-length:"))
                await reader.readexactly(length)
                writer.write(answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    await server.serve_forever()


async def measure(url: str, blocks: int) -> dict[str, list[float]]:
    client, provider, sender = HttpClient(), Http1ProviderClient(), HttpCallbackSender()
    simulator = HttpTransport()
    request = ProviderRequest("POST", url, HEADERS, BODY)
    callback = Callback("fsp", "PUT", url, dict(HEADERS), BODY)

    async def plain() -> None:
        assert (await client.request("POST", url, HEADERS, BODY)).body == BODY

    async def gateway() -> None:
        assert (await provider.send(request, timeout=5, max_body=1 << 20)).body == BODY

    async def switch() -> None:
        assert await sender.send(callback, timeout=5) == 200

    async def fsp() -> None:
        assert await simulator.request("POST", url, HEADERS, BODY) == (200, BODY)

    cases: dict[str, Callable[[], Awaitable[None]]] = {
        "client": plain,
        "exchange_provider_client": gateway,
        "switch_callback_sender": switch,
        "fspsim_hub_transport": fsp,
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for one in cases.values():
        for _ in range(500):  # warm-up: connection, caches
            await one()
    for _ in range(blocks):
        for name, one in cases.items():  # in turn, so that the machine's load hits all alike
            started = time.process_time()
            for _ in range(2000):
                await one()
            samples[name].append((time.process_time() - started) / 2000 * 1e6)
    for closing in (client, provider, sender, simulator):
        await closing.aclose()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 blocks instead of 20")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        uvloop.run(serve(args.serve))
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "bench.http_client", "--serve", str(port)])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        blocks = 4 if args.quick else 20
        samples = uvloop.run(measure(f"http://127.0.0.1:{port}/provider/x?a=1", blocks))
    finally:
        server.terminate()
        server.wait()
    for name, values in samples.items():
        for metric, value in (("median", statistics.median(values)), ("min", min(values))):
            line = {
                "bench": BENCH,
                "case": f"{name},size=1KB,loop=uvloop",
                "metric": f"client_cpu_us_per_request_{metric}",
                "value": round(value, 2),
                "unit": "us",
                "runs": len(values),
            }
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
