"""Benchmark `amlctl apply`: exports and deletes on `scale:N`, against baselines from the same run.

Three measurements, each on a fresh copy of one seeded emulator database, over loopback:

- exports: every run, metric and model of `scale:N`, with `--latency-ms` on every request;
- deletes: every service, image, model and asset (in dependency waves), with the same latency;
- arm: exports of extra compute targets added to the workspace, against ARM's real token
  buckets (reads: 250 burst, 25/s refill), to show pacing keeps throttling under 1%.

For exports and deletes, apply at `--parallelism P` is compared with the sequential baseline (one
request at a time, the same code at parallelism 1) and with the lower bound
requests x latency / P. For `arm` the floor is the rate limit: (reads - burst) / refill rate.
Each apply runs in a fresh `python -m amlctl`; the fixed cost of that (start-up, imports, plan
checks, the receipt) is measured once by applying a plan with nothing to do, and the `net`
column subtracts it. Peak memory is the child process's VmHWM (Linux).

    python bench/apply_bench.py --runs 1000 --latency-ms 20
    python bench/apply_bench.py --runs 200 --latency-ms 10 --json

Bounded: every request goes to 127.0.0.1, each apply has a timeout, and the script stops itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from amlctl.emulator import EmulatorConfig, open_store
from amlctl.emulator.commands import embedded
from amlctl.emulator.config import Bucket
from amlctl.emulator.documents import compute
from amlctl.emulator.seed import SCALE_RESOURCE_GROUP, SCALE_WORKSPACE, SUBSCRIPTION

ARM_READS = Bucket(250, 25.0)
TIMEOUT = 900  # seconds per apply, so a regression cannot hang the bench


@dataclass
class Row:
    scenario: str
    items: int
    requests: int
    parallelism: int
    seconds: float
    net_seconds: float
    baseline_seconds: float | None
    bound_seconds: float
    throttled: int
    peak_rss_mib: float

    @property
    def speedup(self) -> float | None:
        return self.baseline_seconds / self.seconds if self.baseline_seconds else None

    @property
    def ratio_to_bound(self) -> float:
        return self.net_seconds / self.bound_seconds if self.bound_seconds else float("nan")


def manifest(name: str, export: list[str], delete: list[str]) -> str:
    lines = [
        "version: 1",
        f"name: {name}",
        "workspaces:",
        f"  - {{subscriptionId: {SUBSCRIPTION}, resourceGroup: {SCALE_RESOURCE_GROUP}, "
        f"workspace: {SCALE_WORKSPACE}, location: eastus}}",
    ]
    if export:
        lines += ["export:", "  to: exports", "  select:"]
        lines += [f"    - {{kind: {kind}, all: true}}" for kind in export]
    if delete:
        lines += ["delete:", "  select:"]
        lines += [f"    - {{kind: {kind}, all: true}}" for kind in delete]
    return "\n".join(lines) + "\n"


def seed(folder: Path, runs: int, computes: int) -> Path:
    db = folder / "seed.db"
    store = open_store(db, f"scale:{runs}")
    ws = store.get_workspace(SUBSCRIPTION, SCALE_RESOURCE_GROUP, SCALE_WORKSPACE)
    assert ws is not None
    for n in range(computes):
        name = f"bench-{n:04d}"
        store.put(ws.key, "compute", name, compute(ws.doc, name, "STANDARD_DS3_V2", n))
    store.close()
    return db


# Runs amlctl in the child and, at exit, writes the child's own peak RSS (KiB) to a file. It is
# VmHWM, which starts afresh at exec; ru_maxrss keeps the forking parent's size across exec on
# Linux, and RUSAGE_CHILDREN reports the largest child so far.
_CHILD = (
    "import atexit, os, runpy, sys\n"
    "out = os.environ['AMLCTL_BENCH_RSS']\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return line.split()[1]\n"
    "    return '0'\n"
    "atexit.register(lambda: open(out, 'w').write(peak()))\n"
    "sys.argv = ['amlctl', *sys.argv[1:]]\n"
    "runpy.run_module('amlctl', run_name='__main__')\n"
)


def amlctl(args: list[str], cwd: Path) -> tuple[float, float]:
    """Run amlctl ARGS in a fresh process; (seconds, peak RSS MiB of that process)."""
    rss = cwd / ".rss"
    env = {**os.environ, "AMLCTL_BENCH_RSS": str(rss)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        cwd=cwd,
        timeout=TIMEOUT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 3):
        raise SystemExit(f"amlctl {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, int(rss.read_text()) / 1024


def one_apply(
    seed_db: Path, text: str, config: EmulatorConfig, parallelism: int
) -> tuple[float, int, int, int, float]:
    """Plan, then time the apply alone: (seconds, items, apply requests, 429s, peak MiB)."""
    with tempfile.TemporaryDirectory(prefix="amlctl-bench-") as tmp:
        work = Path(tmp)
        db = work / "emulator.db"
        shutil.copy(seed_db, db)
        (work / "job.yaml").write_text(text)
        log = work / "access.jsonl"
        with embedded(db, config.replace(access_log=log)) as origin:
            amlctl(
                [
                    "plan",
                    "job.yaml",
                    "-o",
                    "job.plan.json",
                    "--endpoint",
                    origin,
                    "--format",
                    "json",
                ],
                work,
            )
            planned = len(log.read_text().splitlines())
            items = _planned_items(work / "job.plan.json")
            seconds, peak = amlctl(
                [
                    "apply",
                    "job.plan.json",
                    "--yes",
                    "--endpoint",
                    origin,
                    "--parallelism",
                    str(parallelism),
                    "--format",
                    "json",
                ],
                work,
            )
        lines = log.read_text().splitlines()[planned:]
        statuses = [json.loads(line)["status"] for line in lines]
        return seconds, items, len(statuses), statuses.count(429), peak


def _planned_items(plan: Path) -> int:
    summary = json.loads(plan.read_text())["summary"]
    return int(summary["export"] + summary["delete"])


def fixed_cost(seed_db: Path) -> float:
    """Seconds an apply takes with nothing to do: process start-up, checks, the receipt."""
    text = manifest("idle", [], []).replace("delete:\n", "") + (
        "delete:\n  select:\n    - {kind: model, ids: [no-such-model]}\n"
    )
    return min(one_apply(seed_db, text, EmulatorConfig(throttle=False), 1)[0] for _ in range(3))


def measure(
    seed_db: Path,
    scenario: str,
    text: str,
    latency_ms: int,
    parallelism: int,
    baseline: bool,
    overhead: float,
) -> Row:
    config = EmulatorConfig(throttle=False, latency_ms=latency_ms)
    seconds, items, requests, throttled, peak = one_apply(seed_db, text, config, parallelism)
    base = one_apply(seed_db, text, config, 1)[0] if baseline else None
    bound = requests * latency_ms / 1000 / parallelism
    return Row(
        scenario,
        items,
        requests,
        parallelism,
        seconds,
        max(0.0, seconds - overhead),
        base,
        bound,
        throttled,
        peak,
    )


def measure_arm(seed_db: Path, parallelism: int, overhead: float) -> Row:
    config = EmulatorConfig(throttle=True, arm_reads=ARM_READS)
    text = manifest("arm", ["compute"], [])
    seconds, items, requests, throttled, peak = one_apply(seed_db, text, config, parallelism)
    floor = max(0.0, (requests - ARM_READS.burst) / ARM_READS.per_second)
    return Row(
        "arm",
        items,
        requests,
        parallelism,
        seconds,
        max(0.0, seconds - overhead),
        None,
        floor,
        throttled,
        peak,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="scale:N seed (default 500)")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--computes", type=int, default=400, help="extra ARM items for `arm`")
    parser.add_argument("--no-baseline", action="store_true", help="skip the sequential runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="amlctl-bench-seed-") as tmp:
        seed_db = seed(Path(tmp), args.runs, args.computes)
        overhead = fixed_cost(seed_db)
        baseline = not args.no_baseline
        rows = [
            measure(
                seed_db,
                "exports",
                manifest("exports", ["run", "metric", "model"], []),
                args.latency_ms,
                args.parallelism,
                baseline,
                overhead,
            ),
            measure(
                seed_db,
                "deletes",
                manifest("deletes", [], ["service", "image", "model", "asset"]),
                args.latency_ms,
                args.parallelism,
                baseline,
                overhead,
            ),
            measure_arm(seed_db, args.parallelism, overhead),
        ]
    report(rows, args, overhead)
    return 0


def report(rows: list[Row], args: argparse.Namespace, overhead: float) -> None:
    if args.json:
        print(
            json.dumps(
                {
                    "fixed_cost_seconds": overhead,
                    "rows": [
                        {**asdict(r), "speedup": r.speedup, "ratio_to_bound": r.ratio_to_bound}
                        for r in rows
                    ],
                },
                indent=2,
            )
        )
        return
    print(
        f"apply on scale:{args.runs}, latency {args.latency_ms} ms, "
        f"parallelism {args.parallelism}, {os.cpu_count()} cores; "
        f"fixed cost of an apply {overhead:.2f} s"
    )
    print(
        f"{'scenario':<9}{'items':>7}{'requests':>10}{'seconds':>9}{'net':>7}{'baseline':>10}"
        f"{'speedup':>9}{'bound':>8}{'net/bound':>10}{'429s':>6}{'peak MiB':>10}"
    )
    for r in rows:
        base = f"{r.baseline_seconds:.2f}" if r.baseline_seconds else "-"
        speed = f"{r.speedup:.1f}x" if r.speedup else "-"
        print(
            f"{r.scenario:<9}{r.items:>7}{r.requests:>10}{r.seconds:>9.2f}{r.net_seconds:>7.2f}"
            f"{base:>10}{speed:>9}{r.bound_seconds:>8.2f}{r.ratio_to_bound:>9.2f}x"
            f"{r.throttled:>6}{r.peak_rss_mib:>10.1f}"
        )
    print("bound: requests x latency / parallelism; for arm, (requests - burst) / refill rate")


if __name__ == "__main__":
    raise SystemExit(main())
