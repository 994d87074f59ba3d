"""What a request costs the client, per transport: the numbers behind keeping requests + threads.

Sends the same GETs (an item URL of the demo seed, cycled) to `amlctl emulator serve` in a child
process with injected latency, `--in-flight` at a time, and reports wall time, client CPU per
request (user + system, this process only) and the ratio to the latency floor, for:

- `requests-threads`: amlctl's transport (one `requests.Session`, a thread per request in flight);
- `requests-adapter`: requests without its Session layer (a prepared request to the adapter);
- `amlctl-transport`: amlctl's http.client transport alone (`amlctl.azure.transport`: a pool
  of keep-alive connections per origin shared by the threads);
- `amlctl-client`: the same through `amlctl.azure.client.Client` (retries, pacing, host limits,
  breaker, request ids) on that transport, as `amlctl plan` and `apply` send;
- `amlctl-client-requests`: the Client on a `requests.Session` instead (the path tests use for
  the in-process adapter, and what the commands sent through before the http.client transport);
- `httpclient-threads`: the standard library's http.client, one connection per thread;
- `httpx-async`, `aiohttp-async`: one thread, asyncio, when those packages are installed
  (they are not dependencies of amlctl: `pip install httpx aiohttp orjson` to measure them).

Then json against orjson (when installed) on a page of 100 run documents, per parse.

    python bench/transport_options.py [--requests 3000] [--latency-ms 20] [--in-flight 10]

Bounded: loopback only, a fixed number of requests, stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TOKEN = "amlctl-emulator"


@contextmanager
def emulator(db: Path, latency_ms: int) -> Iterator[str]:
    command = [sys.executable, "-m", "amlctl", "emulator", "serve", "--port", "0", "--db",
               str(db), "--seed", "scale:200", "--latency-ms", str(latency_ms), "--no-throttle"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        yield line.rsplit(" ", 1)[1]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


def item_urls(origin: str) -> list[str]:
    """Run URLs of the scale seed, as amlctl would GET them to export."""
    import requests

    from amlctl.emulator.seed import SCALE_RESOURCE_GROUP, SCALE_WORKSPACE, SUBSCRIPTION

    base = (f"{origin}/eastus.experiments.azureml.net/history/v1.0/subscriptions/{SUBSCRIPTION}"
            f"/resourceGroups/{SCALE_RESOURCE_GROUP}/providers/Microsoft.MachineLearningServices"
            f"/workspaces/{SCALE_WORKSPACE}/experiments/exp-0000/runs")
    body = requests.get(base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()
    return [f"{base}/{run['runId']}" for run in body["value"]]


def measure(name: str, send_all: Callable[[list[str], int], None], urls: list[str],
            in_flight: int, latency_ms: int) -> dict[str, Any]:
    before, started = os.times(), time.perf_counter()
    send_all(urls, in_flight)
    seconds, after = time.perf_counter() - started, os.times()
    cpu = (after.user - before.user) + (after.system - before.system)
    floor = len(urls) * latency_ms / 1000 / in_flight
    return {"transport": name, "requests": len(urls), "seconds": round(seconds, 2),
            "ratio_to_floor": round(seconds / floor, 2),
            "cpu_ms_per_request": round(1000 * cpu / len(urls), 3),
            "system_ms_per_request": round(1000 * (after.system - before.system) / len(urls), 3)}


def requests_threads(urls: list[str], in_flight: int) -> None:
    from amlctl.azure.sessions import new_session

    session = new_session(in_flight)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}

    def one(url: str) -> None:
        with session.get(url, headers=headers, timeout=(10, 60)) as reply:
            json.loads(reply.content)

    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(one, urls))


def requests_adapter_threads(urls: list[str], in_flight: int) -> None:
    """requests without the Session layer: a prepared request straight to the mounted adapter
    (no settings merge, cookie jar or redirect machinery per request)."""
    import requests

    from amlctl.azure.sessions import new_session

    session = new_session(in_flight)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}

    def one(url: str) -> None:
        prepared = requests.Request("GET", url, headers=headers).prepare()
        reply = session.get_adapter(url).send(prepared, timeout=(10, 60))
        with reply:
            json.loads(reply.content)

    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(one, urls))


def amlctl_transport(urls: list[str], in_flight: int) -> None:
    from amlctl.azure.transport import HttpTransport

    transport = HttpTransport(in_flight)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}

    def one(url: str) -> None:
        json.loads(transport.send("GET", url, headers, None, timeout=(10, 60),
                                  replayable=True).content)

    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(one, urls))
    transport.close()


def amlctl_client(urls: list[str], in_flight: int) -> None:
    from amlctl.azure.transport import HttpTransport

    _client_on(HttpTransport(in_flight), urls, in_flight)


def amlctl_client_requests(urls: list[str], in_flight: int) -> None:
    from amlctl.azure.sessions import new_session

    _client_on(new_session(in_flight), urls, in_flight)


def _client_on(transport: Any, urls: list[str], in_flight: int) -> None:
    from amlctl.azure.auth import StaticToken
    from amlctl.azure.client import Client
    from amlctl.azure.target import Target

    target = Target.at(urls[0].split("/eastus.", 1)[0])
    client = Client(transport, target, StaticToken(), ["eastus.experiments.azureml.net"])
    https = [target.unroute(url) for url in urls]
    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(client.get, https))
    client.transport.close()


def httpclient_threads(urls: list[str], in_flight: int) -> None:
    split = urlsplit(urls[0])
    local = threading.local()
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}

    def one(url: str) -> None:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(split.hostname, split.port, timeout=60)
        path = url[len(f"{split.scheme}://{split.netloc}"):]
        local.connection.request("GET", path, headers=headers)
        json.loads(local.connection.getresponse().read())

    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(one, urls))


def httpx_async(urls: list[str], in_flight: int) -> None:
    import httpx

    async def main() -> None:
        limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            await _bounded(urls, in_flight, lambda url: _httpx_one(client, url))

    asyncio.run(main())


async def _httpx_one(client: Any, url: str) -> None:
    reply = await client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    json.loads(reply.content)


def aiohttp_async(urls: list[str], in_flight: int) -> None:
    import aiohttp

    async def main() -> None:
        connector = aiohttp.TCPConnector(limit=in_flight)
        async with aiohttp.ClientSession(connector=connector) as session:
            async def one(url: str) -> None:
                headers = {"Authorization": f"Bearer {TOKEN}"}
                async with session.get(url, headers=headers) as reply:
                    json.loads(await reply.read())

            await _bounded(urls, in_flight, one)

    asyncio.run(main())


async def _bounded(urls: list[str], in_flight: int, one: Callable[[str], Any]) -> None:
    queue = iter(urls)

    async def worker() -> None:
        for url in queue:  # the iterator is shared: each URL is taken once
            await one(url)

    await asyncio.gather(*(worker() for _ in range(in_flight)))


def parse_costs() -> list[dict[str, Any]]:
    """Microseconds per parse of a 100-run page, json and (when installed) orjson."""
    from amlctl.emulator.seed import SCALE_WORKSPACE

    page = json.dumps({"value": [
        {"runId": f"run-{n}", "experimentName": "exp", "status": "Completed", "revision": n,
         "properties": {"k": "v" * 40}, "tags": {"t": str(n)}, "workspace": SCALE_WORKSPACE,
         "createdBy": {"userObjectId": "0" * 36, "userName": "Someone"}} for n in range(100)
    ]}).encode()
    parsers: list[tuple[str, Callable[[bytes], Any]]] = [("json", json.loads)]
    if importlib.util.find_spec("orjson"):
        import orjson

        parsers.append(("orjson", orjson.loads))
    rows = []
    for name, parse in parsers:
        started = time.perf_counter()
        for _ in range(500):
            parse(page)
        micros = (time.perf_counter() - started) / 500 * 1e6
        rows.append({"parser": name, "page_bytes": len(page), "us_per_parse": round(micros, 1)})
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--in-flight", type=int, default=10)
    args = parser.parse_args(argv)
    import amlctl.azure.client  # imports are not what a request costs
    import amlctl.azure.sessions  # noqa: F401
    for optional in ("httpx", "aiohttp"):
        if importlib.util.find_spec(optional):
            __import__(optional)
    options: list[tuple[str, Callable[[list[str], int], None]]] = [
        ("requests-threads", requests_threads), ("requests-adapter", requests_adapter_threads),
        ("amlctl-transport", amlctl_transport), ("amlctl-client", amlctl_client),
        ("amlctl-client-requests", amlctl_client_requests),
        ("httpclient-threads", httpclient_threads)]
    if importlib.util.find_spec("httpx"):
        options.append(("httpx-async", httpx_async))
    if importlib.util.find_spec("aiohttp"):
        options.append(("aiohttp-async", aiohttp_async))
    with (tempfile.TemporaryDirectory(prefix="amlctl-transport-") as tmp,
          emulator(Path(tmp) / "db.sqlite3", args.latency_ms) as origin):
        known = item_urls(origin)
        urls = [known[n % len(known)] for n in range(args.requests)]
        rows = [measure(name, send, urls, args.in_flight, args.latency_ms)
                for name, send in options]
    for row in rows:
        print(json.dumps(row))
    for row in parse_costs():
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
