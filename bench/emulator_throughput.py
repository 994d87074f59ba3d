"""Throughput of the amlctl emulator on loopback, and of its in-process adapter.

Starts the emulator on 127.0.0.1 (zero latency, throttling off) over a fresh demo database in a
temporary directory, drives it with N client threads (one requests.Session each) for a fixed
number of GETs on lists and items, and prints requests/second and p50/p99 latency. Then does the
same through the in-process adapter. Bounded; stops by itself; touches nothing but loopback.

    /work/venv/bin/python bench/emulator_throughput.py [--requests 5000] [--threads 8]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from amlctl.emulator import EmulatorApp, EmulatorConfig, open_store
from amlctl.emulator.adapter import ORIGIN, EmulatorAdapter
from amlctl.emulator.seed import (
    DEMO_PIPELINE_IDS,
    RESOURCE_GROUP,
    SUBJECT_RUN_IDS,
    SUBSCRIPTION,
    WORKSPACE,
)
from amlctl.emulator.server import running_server

WS = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/"
      f"Microsoft.MachineLearningServices/workspaces/{WORKSPACE}")
ARM, HISTORY, MMS = ("management.azure.com", "eastus.experiments.azureml.net",
                     "eastus.modelmanagement.azureml.net")
MIX = [  # lists and items across the service families
    f"/{ARM}{WS}?api-version=2019-11-01",
    f"/{ARM}{WS}/computes?api-version=2019-11-01",
    f"/{HISTORY}/history/v1.0{WS}/experiments/churn-model/runs",
    f"/{HISTORY}/history/v1.0{WS}/experiments/churn-model/runs/{SUBJECT_RUN_IDS[0]}",
    f"/{HISTORY}/datastore/v1.0{WS}/datastores?includeSecret=false",
    f"/{MMS}/api{WS}/models?api-version=2018-11-19",
    f"/{MMS}/api{WS}/models/churn-model%3A1?api-version=2018-11-19",
    f"/eastus.aether.ms/api/v1.0{WS}/Graphs/{DEMO_PIPELINE_IDS['Graphs']}",
]


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]

    def line(self) -> str:
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (f"{self.name:<12} {self.requests:>6} requests  {self.requests / self.seconds:>8.0f}"
                f" req/s  p50 {statistics.median(ordered) * 1000:6.2f} ms  "
                f"p99 {p99 * 1000:6.2f} ms")


def drive(name: str, origin: str, total: int, threads: int,
          make_session: Callable[[], requests.Session]) -> Result:
    """Send `total` GETs from `threads` threads; every answer must be 200."""
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def worker(index: int) -> None:
        session = make_session()
        session.headers["Authorization"] = "Bearer amlctl-emulator"
        mine: list[float] = []
        for n in range(index, total, threads):
            started = time.perf_counter()
            response = session.get(origin + MIX[n % len(MIX)], timeout=30)
            mine.append(time.perf_counter() - started)
            if response.status_code != 200:
                failures.append(f"{response.status_code} {MIX[n % len(MIX)]}")
        session.close()
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return Result(name, total, elapsed, latencies)


SERVE = ("import sys; from pathlib import Path; from amlctl.emulator.commands import serve; "
         "raise SystemExit(serve('127.0.0.1', 0, Path(sys.argv[1]), 'demo', 0, 0.0, None, None, "
         "None, False))")


@contextmanager
def server_process(db: Path) -> Iterator[str]:
    """`amlctl emulator serve` in its own process (so clients and server do not share a GIL)."""
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(db)], stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip().rsplit(" ", 1)[1]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.sqlite3", "demo")
        app = EmulatorApp(store, EmulatorConfig(throttle=False))
        print(f"{args.requests} GETs over {len(MIX)} endpoints, {args.threads} client threads")
        with running_server(app) as server:
            print(drive("loopback", server.origin, args.requests, args.threads,
                        requests.Session).line())
            print(drive("loopback1", server.origin, args.requests, 1, requests.Session).line())
        with server_process(Path(tmp) / "bench.sqlite3") as origin:
            print(drive("process", origin, args.requests, args.threads, requests.Session).line())

        def in_process() -> requests.Session:
            session = requests.Session()
            session.mount(ORIGIN, EmulatorAdapter(app))
            return session

        print(drive("in-process", ORIGIN, args.requests, args.threads, in_process).line())
        print(drive("in-process1", ORIGIN, args.requests, 1, in_process).line())
        print("loopback: server thread in this process; process: `serve` in a child process;"
              " a trailing 1: one client thread")
        app.close()
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
