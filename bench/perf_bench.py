"""Plan + apply against a careful sequential client, at the latency floor, in flat memory.

One command measures, for each size N of the `scale:N` seed, in the same run:

- `export`: plan + apply of a manifest that exports every listable kind (N runs, 2N metrics, N
  artifacts with their bytes, N/20 models and assets, ...);
- `delete`: plan + apply of a manifest that deletes every service, image, model and asset;
- for each, the sequential baseline: what a reader of Microsoft's article writes, one request at
  a time on one `requests.Session`: list every collection (every page, nested lists under each
  parent), GET every item that has a get call, download every artifact's bytes; for `delete`,
  list the kinds and DELETE every item, users before what they use.

The emulator (`amlctl emulator serve`, its own process and GIL, throttling off so no 429 pause
hides in a timing) injects `--latency-ms` into every request; every request is counted in its
access log. Plan, apply and the baseline each run in a fresh process, which reports its own CPU
time and peak resident size (VmHWM). Reported per size and scenario: requests per item of plan
+ apply and of the baseline, wall time of each, speedup (baseline / (plan + apply)), the ratio
of plan and of apply to their latency floor (requests x latency / parallelism), client CPU per
request and peak RSS of plan and of apply.

    python bench/perf_bench.py                         # scale:1000,5000,20000; long (baselines)
    python bench/perf_bench.py --sizes 1000 --write-readme
    python bench/perf_bench.py --sizes 20000 --no-baseline --json

`--write-readme` replaces the table between the perf_bench markers in bench/README.md.
Bounded: loopback only, a timeout per process, sizes up to 100,000 runs, stops by itself.
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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from served import emulator_process

MAX_RUNS = 100_000
FEW = 10  # requests below which a floor or a CPU time per request says nothing
README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- perf_bench:begin -->", "<!-- perf_bench:end -->"
LISTABLE = ("workspace", "compute", "experiment", "run", "metric", "artifact",
            "notification_task", "datastore", "model", "asset", "image", "service")
DELETED = ("service", "image", "model", "asset")  # users before what they use

# Runs amlctl (or the baseline) in the child and, at exit, writes the child's own peak RSS
# (VmHWM, which starts afresh at exec) and CPU seconds to a file.
_CHILD = (
    "import atexit, json, os, runpy, sys, time\n"
    "out = os.environ['AMLCTL_BENCH_STATS']\n"
    # what the command imports lazily, before the clock starts: `net` leaves start-up out;
    # only what it imports, so that its CPU counts no module it never uses
    "import amlctl.cli, amlctl.azure.connect\n"
    "if sys.argv[2:3] == ['plan']:\n"
    "    import amlctl.commands.planning, amlctl.inventory, amlctl.planning.planner\n"
    "    import amlctl.plan.serialize\n"
    "else:\n"
    "    import amlctl.commands, amlctl.apply.gate, amlctl.inventory, amlctl.planning.planner\n"
    "    import amlctl.plan.serialize, requests\n"
    "started = time.perf_counter()\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1])\n"
    "    return 0\n"
    "def stats():\n"
    "    t = os.times()\n"
    "    net = time.perf_counter() - started\n"
    "    open(out, 'w').write(json.dumps({'rss_kib': peak(), 'cpu': t.user + t.system,\n"
    "                                     'net': net}))\n"
    "atexit.register(stats)\n"
    "sys.argv = [sys.argv[1], *sys.argv[2:]]\n"
    "if sys.argv[0].endswith('.py'):  # as `python script.py` would: its folder first on the path\n"
    "    sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))\n"
    "runpy.run_path(sys.argv[0], run_name='__main__') if sys.argv[0].endswith('.py') else "
    "runpy.run_module('amlctl', run_name='__main__')\n"
)


def manifest(name: str, export: tuple[str, ...], delete: tuple[str, ...]) -> str:
    from amlctl.emulator.seed import SCALE_RESOURCE_GROUP, SCALE_WORKSPACE, SUBSCRIPTION

    lines = ["version: 1", f"name: {name}", "catalog: azureml-2019-11-01", "workspaces:",
             f"  - {{subscriptionId: {SUBSCRIPTION}, resourceGroup: {SCALE_RESOURCE_GROUP}, "
             f"workspace: {SCALE_WORKSPACE}, location: eastus}}"]
    if export:
        lines += ["export:", "  to: exports", "  select:",
                  *(f"    - {{kind: {kind}, all: true}}" for kind in export)]
    if delete:
        lines += ["delete:", "  select:",
                  *(f"    - {{kind: {kind}, all: true}}" for kind in delete),
                  "limits:", f"  maxDeletes: {MAX_RUNS * 10}"]
    return "\n".join(lines) + "\n"


@dataclass
class Run:
    """One process: wall seconds, CPU seconds, peak RSS and the requests the emulator saw."""

    seconds: float
    cpu: float
    rss_mib: float
    requests: int
    net: float = 0.0  # wall time after start-up and imports
    methods: dict[str, int] = field(default_factory=dict)


@dataclass
class Row:
    runs: int
    scenario: str
    items: int
    latency_ms: int
    parallelism: int
    plan: Run
    apply: Run
    baseline: Run | None

    def floor(self, run: Run) -> float:
        return run.requests * self.latency_ms / 1000 / self.parallelism

    def over_floor(self, run: Run, seconds: float) -> float | None:
        """`seconds` over `run`'s floor; None for a handful of requests, whose floor is only
        noise (a second apply with nothing to do)."""
        return seconds / self.floor(run) if run.requests >= FEW else None

    def summary(self) -> dict[str, Any]:
        ours = self.plan.seconds + self.apply.seconds
        base = self.baseline
        return {
            "N": self.runs, "scenario": self.scenario, "items": self.items,
            "req/item": (self.plan.requests + self.apply.requests) / max(1, self.items),
            "base req/item": base.requests / max(1, self.items) if base else None,
            "plan s": self.plan.seconds, "apply s": self.apply.seconds,
            "base s": base.seconds if base else None,
            "speedup": base.seconds / ours if base else None,
            "plan/floor": self.over_floor(self.plan, self.plan.seconds),
            "apply/floor": self.over_floor(self.apply, self.apply.seconds),
            "plan net/floor": self.over_floor(self.plan, self.plan.net),
            "apply net/floor": self.over_floor(self.apply, self.apply.net),
            "plan ms/req": 1000 * self.plan.cpu / self.plan.requests
            if self.plan.requests >= FEW else None,
            "apply ms/req": 1000 * self.apply.cpu / self.apply.requests
            if self.apply.requests >= FEW else None,
            "base ms/req": 1000 * base.cpu / max(1, base.requests) if base else None,
            "plan MiB": self.plan.rss_mib, "apply MiB": self.apply.rss_mib,
            "plan req": self.plan.requests, "apply req": self.apply.requests,
            "base req": base.requests if base else None,
        }


# -- the baseline: a careful sequential client ---------------------------------------------------


def baseline_main(origin: str, mode: str) -> None:
    """Export (or delete) everything one request at a time; the emulator counts the requests."""
    import requests

    from amlctl.catalog import expand, load_catalog
    from amlctl.emulator.seed import SCALE_RESOURCE_GROUP, SCALE_WORKSPACE, SUBSCRIPTION
    from amlctl.emulator.tokens import STATIC_TOKEN
    from amlctl.inventory.needs import top_down

    catalog = load_catalog("azureml-2019-11-01")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {STATIC_TOKEN}"
    scope = {"subscriptionId": SUBSCRIPTION, "resourceGroupName": SCALE_RESOURCE_GROUP,
             "workspaceName": SCALE_WORKSPACE, "location": "eastus"}

    def route(url: str) -> str:
        return f"{origin}/{url.removeprefix('https://')}"

    def get(url: str) -> Any:
        reply = session.get(url, timeout=60)
        reply.raise_for_status()
        return reply.json() if "json" in reply.headers.get("Content-Type", "") else reply.content

    def pages(url: str, param: str | None) -> Iterator[dict[str, Any]]:
        body = get(route(url))
        while True:
            yield from body.get("value", [])
            if link := body.get("nextLink"):
                body = get(link)
            elif token := body.get("continuationToken"):
                sep = "&" if "?" in url else "?"
                body = get(route(url) + sep + requests.utils.quote(param or "") + "="
                           + requests.utils.quote(token))
            else:
                return

    kinds = LISTABLE if mode == "export" else DELETED
    listed: dict[str, list[tuple[dict[str, Any], dict[str, str]]]] = {}
    for kind in top_down(catalog, kinds):
        top = kind.parent is None or catalog.kind(kind.parent).scope
        under = [(None, scope)] if top else listed[kind.parent or ""]
        found = listed.setdefault(kind.name, [])
        for parent, values in under:
            inherited = {var: str((parent or {}).get(path) or "")
                         for var, path in kind.parent_vars.items()}
            op = kind.op("list")
            assert op.paging is not None
            for item in pages(expand(op, {**values, **inherited}, catalog.hosts), op.paging.param):
                own = {kind.id_var: str(item.get(kind.id_field))} if kind.id_var else {}
                found.append((item, {**values, **inherited, **own}))
    for name in kinds:
        kind = catalog.kind(name)
        for item, values in listed.get(name, []):
            if mode == "delete":
                session.delete(route(expand(kind.op("delete"), values, catalog.hosts)),
                               timeout=60).raise_for_status()
                continue
            if kind.can("get"):
                get(route(expand(kind.op("get"), values, catalog.hosts)))
            if kind.content_field and item.get(kind.content_field):
                get(item[kind.content_field])


# -- the driver -----------------------------------------------------------------------------------


def timed(args: list[str], cwd: Path, log: Path, timeout: float) -> Run:
    """Run one child process; its wall time, CPU, peak RSS, and the requests it made."""
    stats = cwd / ".stats.json"
    start = log.stat().st_size if log.exists() else 0
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, *args], cwd=cwd, timeout=timeout,
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "AMLCTL_BENCH_STATS": str(stats)})
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(args[:3])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    numbers = json.loads(stats.read_text())
    methods: Counter[str] = Counter()
    with log.open("rb") as handle:
        handle.seek(start)
        for line in handle:
            entry = json.loads(line)
            methods[f"{entry['method']} {entry['status']}"] += 1
    return Run(seconds, numbers["cpu"], numbers["rss_kib"] / 1024, sum(methods.values()),
               net=numbers["net"], methods=dict(methods))


def amlctl_pair(work: Path, origin: str, log: Path, args: argparse.Namespace,
                plan_file: str = "job.plan.json") -> tuple[Run, Run]:
    endpoint = ["--endpoint", origin]
    plan = timed(["amlctl", "plan", "job.yaml", "-o", plan_file, "--format", "json",
                  *endpoint], work, log, args.timeout)
    apply = timed(["amlctl", "apply", plan_file, "--yes", "--format", "json",
                   "--parallelism", str(args.parallelism), *endpoint], work, log, args.timeout)
    return plan, apply


def planned_items(plan: Path) -> int:
    summary = json.loads(plan.read_text())["summary"]
    return int(summary["export"] + summary["delete"])


def scenario(seeded: Path, root: Path, name: str, text: str, args: argparse.Namespace,
             runs: int, say: Any) -> list[Row]:
    work = root / name
    work.mkdir()
    (work / "job.yaml").write_text(text)
    baseline = None
    if args.baseline and runs in args.baseline_sizes:
        base_dir = root / f"{name}-baseline"
        base_dir.mkdir()
        shutil.copy(seeded, base_dir / "db.sqlite3")
        log = base_dir / "access.jsonl"
        with emulator_process(base_dir / "db.sqlite3", seed="none", latency_ms=args.latency_ms,
                              log=log) as (origin, _):
            say(f"scale:{runs} {name}: sequential baseline")
            baseline = timed([__file__, "--baseline-child", origin, name], base_dir, log,
                             args.timeout)
    shutil.copy(seeded, work / "db.sqlite3")
    log = work / "access.jsonl"
    with emulator_process(work / "db.sqlite3", seed="none", latency_ms=args.latency_ms,
                          log=log) as (origin, _):
        say(f"scale:{runs} {name}: plan + apply at parallelism {args.parallelism}")
        plan, apply = amlctl_pair(work, origin, log, args)
        items = planned_items(work / "job.plan.json")
        rows = [Row(runs, name, items, args.latency_ms, args.parallelism, plan, apply, baseline)]
        if name == "export":  # once more, all of it current now: plan and apply read the index
            say(f"scale:{runs} {name}: plan + apply again")
            plan, apply = amlctl_pair(work, origin, log, args, "again.plan.json")
            rows.append(Row(runs, "again", items, args.latency_ms, args.parallelism, plan, apply,
                            None))
    return rows


def measure_size(runs: int, args: argparse.Namespace, say: Any, tmp: Path) -> list[Row]:
    from amlctl.emulator import open_store

    root = tmp / f"scale-{runs}"
    root.mkdir()
    seeded = root / "seed.sqlite3"
    say(f"scale:{runs}: seeding")
    open_store(seeded, f"scale:{runs}").close()
    return [
        *scenario(seeded, root, "export", manifest("bench-export", LISTABLE, ()), args, runs,
                  say),
        *scenario(seeded, root, "delete", manifest("bench-delete", (), DELETED), args, runs,
                  say),
    ]


COLUMNS = (  # key, format
    ("N", "{:>6}"), ("scenario", "{:<8}"), ("items", "{:>6}"), ("req/item", "{:>8.2f}"),
    ("base req/item", "{:>13.2f}"), ("plan s", "{:>7.2f}"), ("apply s", "{:>7.2f}"),
    ("base s", "{:>7.1f}"), ("speedup", "{:>7.1f}"), ("plan/floor", "{:>10.2f}"),
    ("apply/floor", "{:>11.2f}"), ("plan net/floor", "{:>5.2f}"), ("apply net/floor", "{:>5.2f}"),
    ("plan ms/req", "{:>11.2f}"), ("apply ms/req", "{:>12.2f}"),
    ("base ms/req", "{:>11.2f}"), ("plan MiB", "{:>8.1f}"), ("apply MiB", "{:>9.1f}"),
)


def table(summaries: list[dict[str, Any]]) -> str:
    def cell(row: dict[str, Any], key: str, fmt: str) -> str:
        return "-" if row[key] is None else fmt.format(row[key])

    widths = [max(len(key), *(len(cell(r, key, fmt)) for r in summaries)) for key, fmt in COLUMNS]
    lines = ["  ".join(key.rjust(w) for w, (key, _) in zip(widths, COLUMNS, strict=True))]
    lines += ["  ".join(cell(r, key, fmt).rjust(w)
                        for w, (key, fmt) in zip(widths, COLUMNS, strict=True))
              for r in summaries]
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    head, _, rest = readme.partition(BEGIN)
    _, found, tail = rest.partition(END)
    if not found:
        raise SystemExit(f"{README}: no {BEGIN} ... {END} markers to write the table between")
    README.write_text(f"{head}{BEGIN}\n```\n{text}\n```\n{END}{tail}", encoding="utf-8")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000", help="comma-separated N (runs)")
    parser.add_argument("--latency-ms", type=int, default=20, help="injected per request")
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the sequential baselines (the long part)")
    parser.add_argument("--baseline-sizes", default=None,
                        help="measure the baselines at these sizes only (default: all)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per process")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--write-readme", action="store_true",
                        help="also write the table into bench/README.md")
    args = parser.parse_args(argv)
    args.sizes = [int(size) for size in args.sizes.split(",") if size]
    args.baseline_sizes = (set(args.sizes) if args.baseline_sizes is None else
                           {int(size) for size in args.baseline_sizes.split(",") if size})
    if not all(1 <= size <= MAX_RUNS for size in args.sizes):
        parser.error(f"sizes must be from 1 to {MAX_RUNS}")
    if not 1 <= args.parallelism <= 64 or args.latency_ms < 1:
        parser.error("parallelism must be from 1 to 64, latency at least 1 ms")
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["--baseline-child"]:
        baseline_main(argv[1], argv[2])
        return 0
    args = parse_args(argv)

    def say(message: str) -> None:
        print(f"perf_bench: {message}", file=sys.stderr, flush=True)

    started, load_before = time.perf_counter(), os.getloadavg()
    # One folder for all sizes, removed at the end: this disk (ext4 without a journal) walks
    # past every recently freed inode when it creates a file, so deleting one size's 100k
    # exports would make the next size's apply look slower than it is (see below).
    with tempfile.TemporaryDirectory(prefix="amlctl-perf-bench-") as tmp:
        rows = [row for size in args.sizes for row in measure_size(size, args, say, Path(tmp))]
    summaries = [row.summary() for row in rows]
    if args.json:
        print(json.dumps([{**s, "plan": vars(r.plan), "apply": vars(r.apply),
                           "baseline": vars(r.baseline) if r.baseline else None}
                          for s, r in zip(summaries, rows, strict=True)], indent=2))
        return 0
    text = "\n".join([
        table(summaries),
        f"{time.strftime('%Y-%m-%d')}, latency {args.latency_ms} ms, parallelism "
        f"{args.parallelism}, {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before "
        f"and {os.getloadavg()[0]:.1f} after, {time.perf_counter() - started:.0f} s in all",
    ])
    print(text)
    if args.write_readme:
        write_readme(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
