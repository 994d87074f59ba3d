"""How fast `amlctl plan` reads a big workspace, against a one-request-at-a-time baseline.

For each size N it seeds `scale:N` (N runs, 2N metrics, N artifacts, N/20 models and assets, ...)
in a temporary directory, starts `amlctl emulator serve` on 127.0.0.1 in a child process with
injected latency (throttling off, so no 429 pauses hide in the numbers), and for each manifest
runs the real plan path (load the manifest, `inventory.fetch` through a real Client and
`requests.Session` over loopback, `make_plan`, write the plan file) in a fresh subprocess: once at
`--parallelism` and once at parallelism 1 (the sequential baseline), in the same run.

Requests are counted in the emulator's access log (and must all be GETs answered 200). Reported:
wall time of each, speedup (baseline / parallel), the lower bound requests x latency /
parallelism and the ratio of the parallel time to it, peak memory (VmHWM, the peak resident size
of the measuring subprocess; "plan MiB" is the peak minus the peak after imports, before
planning) and that per item read. CPU seconds of the client and the server (in --json) show
which side, if any, was busy.

    /work/venv/bin/python bench/plan_bench.py [--sizes 500,1000,2000] [--latency-ms 20]
        [--parallelism 10] [--manifests all,subject] [--json]

Bounded: sizes up to 100,000 runs, a time limit per measurement, loopback only, stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from served import emulator_process

from amlctl.emulator.seed import SCALE_RESOURCE_GROUP, SCALE_WORKSPACE, SUBJECT, SUBSCRIPTION

MAX_RUNS = 100_000
WORKSPACE = (
    f"{{subscriptionId: {SUBSCRIPTION}, resourceGroup: {SCALE_RESOURCE_GROUP}, "
    f"workspace: {SCALE_WORKSPACE}, location: eastus}}"
)
LISTABLE = ("workspace", "compute", "experiment", "run", "metric", "artifact",
            "notification_task", "datastore", "model", "asset", "image", "service")
MANIFESTS = {
    # every kind that can be listed, exported whole: the big kinds are runs, metrics, artifacts
    "all": "\n".join([
        "version: 1", "name: bench-all", "catalog: azureml-2019-11-01",
        "workspaces:", f"  - {WORKSPACE}",
        "export:", "  to: exports/all", "  select:",
        *(f"    - {{kind: {kind}, all: true}}" for kind in LISTABLE),
    ]) + "\n",
    # a data-subject request: her runs, then what hangs off them; her models and assets erased
    "subject": "\n".join([
        "version: 1", "name: bench-subject", "catalog: azureml-2019-11-01",
        "request:", "  id: DSR-BENCH", '  received: "2026-01-01"',
        "  subject:", f"    userObjectId: {SUBJECT.object_id}",
        "workspaces:", f"  - {WORKSPACE}",
        "export:", "  to: exports/subject", "  select:",
        *(f"    - {{kind: {kind}, subject: true}}"
          for kind in ("run", "metric", "artifact", "model", "asset", "notification_task")),
        "delete:", "  select:",
        "    - {kind: model, subject: true}", "    - {kind: asset, subject: true}",
        "limits:", f"  maxDeletes: {MAX_RUNS}",
    ]) + "\n",
}


@dataclass
class Measurement:
    """One plan run in its own subprocess."""

    seconds: float  # wall time of the whole plan (fetch, make_plan, write)
    fetch_seconds: float  # of which inventory.fetch
    requests: int  # counted in the emulator's access log
    client_requests: int  # counted by the client
    items: int  # items the inventory holds (listed and looked up)
    changes: int
    rss_before_kib: int  # after imports, before planning
    rss_peak_kib: int
    client_cpu: float  # CPU seconds of the measuring subprocess while planning
    server_cpu: float  # CPU seconds of the emulator process meanwhile


@dataclass
class Row:
    """A size and manifest: the parallel run against the baseline."""

    runs: int
    manifest: str
    latency_ms: int
    parallelism: int
    parallel: Measurement
    baseline: Measurement

    @property
    def bound(self) -> float:
        return self.parallel.requests * self.latency_ms / 1000 / self.parallelism

    def summary(self) -> dict[str, Any]:
        plan_kib = self.parallel.rss_peak_kib - self.parallel.rss_before_kib
        return {
            "runs": self.runs,
            "manifest": self.manifest,
            "requests": self.parallel.requests,
            "latency_ms": self.latency_ms,
            "parallelism": self.parallelism,
            "parallel_s": round(self.parallel.seconds, 3),
            "baseline_s": round(self.baseline.seconds, 3),
            "speedup": round(self.baseline.seconds / self.parallel.seconds, 2),
            "bound_s": round(self.bound, 3),
            "ratio_to_bound": round(self.parallel.seconds / self.bound, 3),
            "fetch_s": round(self.parallel.fetch_seconds, 3),
            "fetch_ratio": round(self.parallel.fetch_seconds / self.bound, 3),
            "peak_rss_mib": round(self.parallel.rss_peak_kib / 1024, 1),
            "plan_mib": round(plan_kib / 1024, 1),
            "bytes_per_item": round(plan_kib * 1024 / max(1, self.parallel.items)),
            "items": self.parallel.items,
            "parallel": asdict(self.parallel),
            "baseline": asdict(self.baseline),
        }


# -- the measuring subprocess -------------------------------------------------------------------


def peak_rss_kib() -> int:
    """Peak resident size of this process: VmHWM, which starts afresh at exec (ru_maxrss on
    Linux keeps the forking parent's size across exec), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(manifest: Path, origin: str, parallelism: int) -> None:
    """Plan `manifest` against `origin` as `amlctl plan` does; print one JSON line of numbers."""
    from amlctl import inventory
    from amlctl.apply.export import index  # noqa: F401
    from amlctl.azure import connect  # noqa: F401  # what plan imports lazily, before measuring
    from amlctl.azure.target import Connection
    from amlctl.commands.planning import make_plan_file
    from amlctl.plan import serialize  # noqa: F401
    from amlctl.planning import planner  # noqa: F401

    fetched: dict[str, Any] = {}
    real_fetch = inventory.fetch

    def timed_fetch(*args: Any, **kwargs: Any) -> inventory.Inventory:
        started = time.perf_counter()
        found = real_fetch(*args, **kwargs)
        fetched.update(seconds=time.perf_counter() - started, found=found)
        return found

    inventory.fetch = timed_fetch  # only to read the timing and counts; the path is unchanged
    before, rss_before = resource.getrusage(resource.RUSAGE_SELF), peak_rss_kib()
    started = time.perf_counter()
    connection = Connection(endpoint=origin, parallelism=parallelism)
    doc, _ = make_plan_file(manifest, manifest.with_suffix(".plan.json"), None, connection)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    found: inventory.Inventory = fetched["found"]
    print(json.dumps({
        "seconds": seconds,
        "fetch_seconds": fetched["seconds"],
        "client_requests": found.requests,
        "items": sum(map(len, found.items.values())) + len(found.lookups),
        "changes": len(doc["changes"]),
        "rss_before_kib": rss_before,
        "rss_peak_kib": peak_rss_kib(),
        "client_cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    }))


# -- the driver -----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc (0 where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def access_log_tail(log: Path, start: int) -> tuple[int, int, Counter[tuple[str, int]]]:
    """The new end of the log, the number of entries after byte `start`, and how many of them
    were anything but a GET answered 200 (by method and status)."""
    count, odd = 0, Counter[tuple[str, int]]()
    with log.open("rb") as handle:
        handle.seek(start)
        for line in handle:
            entry = json.loads(line)
            count += 1
            if (entry["method"], entry["status"]) != ("GET", 200):
                odd[(entry["method"], entry["status"])] += 1
        return handle.tell(), count, odd


def measure(manifest: Path, origin: str, server_pid: int, log: Path, parallelism: int,
            timeout: float) -> Measurement:
    start, _, _ = access_log_tail(log, 0)
    server_before = cpu_seconds(server_pid)
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(manifest), origin, str(parallelism)],
        cwd=manifest.parent, capture_output=True, text=True, timeout=timeout, check=False)
    server_cpu = cpu_seconds(server_pid) - server_before
    if done.returncode != 0:
        raise SystemExit(f"plan failed ({done.returncode}):\n{done.stderr[-3000:]}")
    numbers = json.loads(done.stdout.strip().splitlines()[-1])
    _, requests, odd = access_log_tail(log, start)
    if odd:  # a 429 or 5xx would hide a retry pause in the timings; anything but GET is a bug
        raise SystemExit(f"expected only GETs answered 200, also got {dict(odd)}")
    return Measurement(requests=requests, server_cpu=server_cpu, **numbers)


def pair(manifest: Path, origin: str, pid: int, log: Path, args: argparse.Namespace,
         say: Any) -> tuple[Measurement, Measurement]:
    """The parallel run and the baseline, alternating `--repeat` times; the fastest of each
    (the machine is shared: noise only ever adds time)."""
    runs: dict[int, list[Measurement]] = {args.parallelism: [], 1: []}
    for _ in range(args.repeat):
        for parallelism in runs:
            say(f"{manifest.stem}: parallelism {parallelism}")
            done = measure(manifest, origin, pid, log, parallelism, args.timeout)
            say(f"{manifest.stem}: {done.requests} requests in {done.seconds:.2f} s")
            runs[parallelism].append(done)
    return (min(runs[args.parallelism], key=lambda m: m.seconds),
            min(runs[1], key=lambda m: m.seconds))


def measure_size(runs: int, args: argparse.Namespace, say: Any) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="amlctl-plan-bench-") as tmp:
        root = Path(tmp)
        log = root / "access.jsonl"
        say(f"scale:{runs}: seeding and starting the emulator")
        with emulator_process(root / "emulator.sqlite3", seed=f"scale:{runs}",
                                  latency_ms=args.latency_ms, log=log) as (origin, pid):
            for name in args.manifests:
                workdir = root / name
                workdir.mkdir()
                manifest = workdir / f"{name}.yaml"
                manifest.write_text(MANIFESTS[name], encoding="utf-8")
                parallel, baseline = pair(manifest, origin, pid, log, args, say)
                if baseline.requests != parallel.requests:
                    raise SystemExit(f"request counts differ: {parallel.requests} at parallelism "
                                     f"{args.parallelism}, {baseline.requests} at 1")
                rows.append(Row(runs, name, args.latency_ms, args.parallelism, parallel,
                                baseline))
    return rows


COLUMNS = (  # header, key, format
    ("N", "runs", "{:>6}"), ("manifest", "manifest", "{:<8}"), ("requests", "requests", "{:>8}"),
    ("lat ms", "latency_ms", "{:>6}"), ("par s", "parallel_s", "{:>7.2f}"),
    ("base s", "baseline_s", "{:>7.2f}"), ("speedup", "speedup", "{:>7.2f}"),
    ("bound s", "bound_s", "{:>7.2f}"), ("ratio", "ratio_to_bound", "{:>5.2f}"),
    ("fetch s", "fetch_s", "{:>7.2f}"), ("f.ratio", "fetch_ratio", "{:>7.2f}"),
    ("peak MiB", "peak_rss_mib", "{:>8.1f}"), ("plan MiB", "plan_mib", "{:>8.1f}"),
    ("items", "items", "{:>7}"), ("B/item", "bytes_per_item", "{:>6}"),
)


def table(summaries: list[dict[str, Any]]) -> str:
    widths = [len(fmt.format(summaries[0][key])) if summaries else len(head)
              for head, key, fmt in COLUMNS]
    widths = [max(w, len(head)) for w, (head, _, _) in zip(widths, COLUMNS, strict=True)]
    lines = ["  ".join(head.rjust(w) for w, (head, _, _) in zip(widths, COLUMNS, strict=True))]
    for row in summaries:
        lines.append("  ".join(fmt.format(row[key]).rjust(w)
                               for w, (_, key, fmt) in zip(widths, COLUMNS, strict=True)))
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000",
                        help="comma-separated N of the scale:N seeds (runs)")
    parser.add_argument("--latency-ms", type=int, default=20, help="injected per request")
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--manifests", default="all,subject",
                        help=f"comma-separated, of: {', '.join(MANIFESTS)}")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each this many times (alternating) and keep the fastest")
    parser.add_argument("--timeout", type=float, default=1200.0,
                        help="seconds one measurement may take")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",") if size]
    args.manifests = [name for name in args.manifests.split(",") if name]
    if not all(1 <= size <= MAX_RUNS for size in args.sizes):
        parser.error(f"sizes must be from 1 to {MAX_RUNS}")
    if unknown := set(args.manifests) - set(MANIFESTS):
        parser.error(f"unknown manifests {sorted(unknown)}")
    if not 2 <= args.parallelism <= 64 or args.latency_ms < 1 or not 1 <= args.repeat <= 10:
        parser.error("parallelism must be from 2 to 64, latency at least 1 ms, repeat 1 to 10")
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        child(Path(argv[1]), argv[2], int(argv[3]))
        return 0
    args = parse_args(argv)

    def say(message: str) -> None:
        print(f"plan_bench: {message}", file=sys.stderr, flush=True)

    started, load_before = time.perf_counter(), os.getloadavg()
    summaries = [row.summary() for size in args.sizes for row in measure_size(size, args, say)]
    load = f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after"
    if args.json:
        print(json.dumps({"cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                          "load": load, "repeat": args.repeat, "rows": summaries}, indent=2))
    else:
        print(table(summaries))
        print(f"bound = requests x latency / parallelism; ratio = parallel / bound; speedup = "
              f"baseline / parallel; fetch = the inventory.fetch part of the parallel run; "
              f"peak = VmHWM of the planning subprocess; plan MiB = peak - peak after "
              f"imports; {os.cpu_count()} CPUs, {load}; "
              f"{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
