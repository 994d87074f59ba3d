"""The torture harness: a mixed export+delete plan on a scale seed, applied by real `amlctl`
processes against a loopback emulator, killed with SIGKILL or served faults and 429s, re-run
until done, and compared with a fault-free run of the same plan.

Shared by the fast subset in tests/torture (a few trials) and the full run, bench/torture.py
(hundreds). Every trial works in a folder of its own, over a copy of one seeded database; the
emulator runs in this process (a server thread), amlctl in child processes, so a kill is a real
kill -9 and the access log sees every request that reached the service.

What a trial checks, against the fault-free run (`Golden`):
- every exported file is there, byte for byte the same (SHA-256 per relative path);
- the export index lists every exported file exactly once, with its hash;
- no temp file (`.amlctl-tmp-*`) is left anywhere under the export folder;
- no DELETE went to a path after an earlier DELETE of it was answered 2xx;
- the receipt is complete, and says `deleted` exactly for the items whose DELETE the access
  log shows answered 2xx (`absent` for the others);
- with injected 429s: no request reached a scope inside a 429's Retry-After window (beyond
  the requests already on their way when the 429 was answered).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amlctl.emulator import EmulatorApp, EmulatorConfig, documents, open_store
from amlctl.emulator.seed import SCALE_RESOURCE_GROUP, SCALE_WORKSPACE, SUBSCRIPTION
from amlctl.emulator.server import running_server
from amlctl.fsio import TEMP_PREFIX

MANIFEST = f"""\
version: 1
name: torture
workspaces:
  - {{subscriptionId: {SUBSCRIPTION}, resourceGroup: {SCALE_RESOURCE_GROUP},
     workspace: {SCALE_WORKSPACE}, location: eastus}}
export:
  to: exports
  select:
    - {{kind: run, all: true}}
    - {{kind: artifact, all: true}}
    - {{kind: model, all: true}}
    - {{kind: experiment, all: true}}
delete:
  select:
    - {{kind: service, all: true}}
    - {{kind: image, all: true}}
    - {{kind: model, all: true}}
    - {{kind: asset, all: true}}
limits:
  maxDeletes: 1000
"""
# Not computes: the emulator's compute get shows live node counts that move with every read, so
# two correct runs export different bytes.
PLAN = Path("plans") / "torture.plan.json"
APPLY_TIMEOUT = 300.0  # seconds per apply, so a regression cannot hang the suite
MAX_RUNS = 8  # applies of one trial before it counts as never finishing
IN_FLIGHT_GRACE_MS = 50  # a request on its way when the 429 was answered could not know


@dataclass(frozen=True)
class Setup:
    """A seeded database and what the emulator adds to every request."""

    seed_db: Path
    latency_ms: int = 5
    parallelism: int = 10


@dataclass
class Golden:
    """The fault-free run: the exported files (relative path -> SHA-256) and how long it took."""

    files: dict[str, str]
    seconds: float
    deletes: int


@dataclass
class Trial:
    """What one trial did and found; `problems` is empty when everything held."""

    name: str
    kills: int = 0
    runs: int = 0
    exit_codes: list[int] = field(default_factory=list)
    requests: int = 0
    deletes_sent: int = 0
    throttled: int = 0
    in_window: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.problems


def make_seed(folder: Path, runs: int = 20, extra: int = 10) -> Path:
    """`scale:runs`, with `extra` more models, assets, images and services to delete (every
    other service on AKS, whose delete is a long-running operation)."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "seed.db"
    store = open_store(db, f"scale:{runs}")
    try:
        ws = store.get_workspace(SUBSCRIPTION, SCALE_RESOURCE_GROUP, SCALE_WORKSPACE)
        assert ws is not None
        account = documents.storage_account(SCALE_WORKSPACE)
        for n in range(extra):
            name = f"torture-{n:03d}"
            model = documents.model(name, 1, None, None, n, "ScikitLearn", "")
            store.put(ws.key, "model", model["id"], model)
            asset = documents.asset(name, 1, None, n)
            store.put(ws.key, "asset", asset["id"], asset)
            image = documents.image(name, 1, [f"{name}:1"], n, account)
            store.put(ws.key, "image", f"{name}:1", image)
            kind = "AKS" if n % 2 else "ACI"
            service = documents.service(name, f"{name}:1", kind, n, "eastus")
            store.put(ws.key, "service", name, service)
    finally:
        store.close()
    return db


@contextmanager
def emulator(work: Path, setup: Setup, **config: Any) -> Iterator[tuple[str, EmulatorApp]]:
    """The emulator over a fresh copy of the seed in `work`, logging to `work/access.log`."""
    db = work / "emulator.db"
    shutil.copyfile(setup.seed_db, db)
    store = open_store(db, "none")
    app = EmulatorApp(store, EmulatorConfig(access_log=work / "access.log", **config))
    try:
        with running_server(app) as server:
            yield server.origin, app
    finally:
        app.close()
        store.close()


def amlctl_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "amlctl", *args]


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AMLCTL_ENDPOINT"}
    env.update(PYTHONUNBUFFERED="1", NO_COLOR="1", SOURCE_DATE_EPOCH="1795000000")
    return env


def run(work: Path, *args: str, timeout: float = APPLY_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        amlctl_argv(*args), cwd=work, capture_output=True, text=True, timeout=timeout,
        env=child_env(), stdin=subprocess.DEVNULL, check=False,
    )


def plan(work: Path, origin: str) -> None:
    (work / "torture.yaml").write_text(MANIFEST)
    (work / "plans").mkdir(exist_ok=True)
    done = run(work, "plan", "torture.yaml", "-o", str(PLAN), "--endpoint", origin)
    if done.returncode != 0:
        raise AssertionError(f"plan failed ({done.returncode}): {done.stderr}")


def apply_args(origin: str, setup: Setup) -> list[str]:
    return ["apply", str(PLAN), "--yes", "--endpoint", origin,
            "--parallelism", str(setup.parallelism)]


def golden(folder: Path, setup: Setup) -> Golden:
    """Plan and apply once with nothing going wrong."""
    work = folder / "golden"
    work.mkdir(parents=True)
    with emulator(work, setup) as (origin, app):
        plan(work, origin)
        app.config = app.config.replace(latency_ms=setup.latency_ms)
        begun = time.monotonic()
        done = run(work, *apply_args(origin, setup))
        seconds = time.monotonic() - begun
    if done.returncode != 0:
        raise AssertionError(f"the fault-free apply failed ({done.returncode}): {done.stderr}")
    doc = json.loads((work / PLAN).read_text())
    return Golden(exported_files(work / "exports"), seconds, int(doc["summary"]["delete"]))


def exported_files(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under `root` but the index (its times and
    request ids differ from run to run)."""
    from amlctl.fsio import sha256_file

    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != "index.json":
            found[path.relative_to(root).as_posix()] = sha256_file(path)[0]
    return found


# -- trials -------------------------------------------------------------------------------------


def kill_trial(folder: Path, setup: Setup, gold: Golden, number: int, rng: random.Random,
               aim: str = "any") -> Trial:
    """Apply, SIGKILL it (at a random moment, or once deletes are going out), re-run until
    done (the first re-run killed again, now and then), then check everything."""
    trial = Trial(f"kill-{aim}-{number}")
    work = folder / trial.name
    work.mkdir(parents=True)
    with emulator(work, setup) as (origin, app):
        plan(work, origin)
        app.config = app.config.replace(latency_ms=setup.latency_ms)
        args = apply_args(origin, setup)
        kills = 2 if rng.random() < 0.25 else 1
        for _ in range(kills):
            _apply_and_kill(work, args, gold, rng, aim, trial)
        _settle(work / "access.log")
        _run_until_done(work, args, trial)
    check(work, gold, trial)
    return trial


def fault_trial(folder: Path, setup: Setup, gold: Golden, number: int, *,
                fault_rate: float = 0.25, throttle_rate: float = 0.05) -> Trial:
    """Apply with `fault_rate` of requests faulted (every kind) and `throttle_rate` answered
    429 with a Retry-After; re-run until done; check everything and the 429 windows."""
    trial = Trial(f"faults-{number}")
    work = folder / trial.name
    work.mkdir(parents=True)
    with emulator(work, setup) as (origin, app):
        plan(work, origin)
        app.reconfigure(app.config.replace(
            latency_ms=setup.latency_ms, fault_rate=fault_rate, fault_seed=number,
            throttle_rate=throttle_rate, throttle_retry_after_ms=200, stall_seconds=1.0,
        ))
        _run_until_done(work, apply_args(origin, setup), trial)
    check(work, gold, trial, windows=True)
    return trial


def _apply_and_kill(work: Path, args: list[str], gold: Golden, rng: random.Random, aim: str,
                    trial: Trial) -> None:
    log = (work / "apply.out").open("ab")
    child = subprocess.Popen(amlctl_argv(*args), cwd=work, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL, env=child_env())
    try:
        if aim == "delete":
            _wait_for_delete_sent(work, child, timeout=APPLY_TIMEOUT)
            time.sleep(rng.uniform(0, 0.3))
        else:
            time.sleep(rng.uniform(0.2, max(0.3, gold.seconds)))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            trial.kills += 1
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        log.close()
    trial.runs += 1
    trial.exit_codes.append(child.returncode)


def _wait_for_delete_sent(work: Path, child: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        for journal in (work / "plans").glob("*.journal.jsonl"):
            if b'"event":"delete-sent"' in journal.read_bytes():
                return
        time.sleep(0.01)


def _settle(log: Path, quiet: float = 0.3, timeout: float = 20.0) -> None:
    """Wait until the emulator has logged nothing for `quiet` seconds: a killed client's
    requests are still handled (and change the store) after it died."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        size = log.stat().st_size if log.exists() else 0
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


def _run_until_done(work: Path, args: list[str], trial: Trial) -> None:
    for _ in range(MAX_RUNS):
        done = run(work, *args)
        trial.runs += 1
        trial.exit_codes.append(done.returncode)
        if "Traceback" in done.stderr or "amlctl-crash-" in done.stderr:
            trial.problems.append(f"run {trial.runs} crashed: {done.stderr[-500:]}")
            return
        if done.returncode == 0:
            return
    trial.problems.append(f"not done after {MAX_RUNS} runs: exit codes {trial.exit_codes}")


# -- checks -------------------------------------------------------------------------------------


def check(work: Path, gold: Golden, trial: Trial, *, windows: bool = False) -> None:
    """Every check of the module docstring; each failure is a line of `trial.problems`."""
    entries = _access_log(work / "access.log")
    trial.requests = len(entries)
    trial.throttled = sum(1 for e in entries if e.get("status") == 429)
    _check_exports(work / "exports", gold, trial)
    _check_deletes(work, entries, trial)
    if windows:
        late = [e["inWindowMs"] for e in entries if e.get("inWindowMs", 0) > IN_FLIGHT_GRACE_MS]
        trial.in_window = len(late)
        if late:
            trial.problems.append(f"{len(late)} requests sent into a 429's window: {late[:5]} ms")


def _access_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _check_exports(root: Path, gold: Golden, trial: Trial) -> None:
    files = exported_files(root) if root.exists() else {}
    missing = sorted(set(gold.files) - set(files))
    changed = sorted(p for p in gold.files.keys() & files.keys() if files[p] != gold.files[p])
    extra = sorted(set(files) - set(gold.files))
    for what, paths in (("missing", missing), ("not byte-identical", changed), ("extra", extra)):
        if paths:
            trial.problems.append(f"{len(paths)} exported files {what}: {paths[:3]}")
    temps = [p for p in root.rglob(f"{TEMP_PREFIX}*")] if root.exists() else []
    if temps:
        trial.problems.append(f"{len(temps)} partial files left: {temps[:3]}")
    _check_index(root, files, trial)


def _check_index(root: Path, files: dict[str, str], trial: Trial) -> None:
    try:
        index = json.loads((root / "index.json").read_text())
    except (OSError, ValueError) as error:
        trial.problems.append(f"export index unreadable: {error}")
        return
    listed: list[tuple[str, str]] = []
    for entry in index["items"].values():
        listed.append((entry["file"], entry["sha256"]))
        if entry.get("content_file"):
            listed.append((entry["content_file"], entry["content_sha256"]))
    names = [name for name, _ in listed]
    if sorted(names) != sorted(files) or len(set(names)) != len(names):
        trial.problems.append(
            f"export index lists {len(names)} files ({len(set(names))} distinct), "
            f"{len(files)} on disk"
        )
    wrong = [name for name, digest in listed if files.get(name) not in (None, digest)]
    if wrong:
        trial.problems.append(f"export index hashes differ from the files: {wrong[:3]}")


def _check_deletes(work: Path, entries: list[dict[str, Any]], trial: Trial) -> None:
    answered: dict[str, int] = {}  # path -> DELETEs sent after one was answered 2xx
    done: set[str] = set()
    for entry in entries:
        if entry["method"] != "DELETE":
            continue
        trial.deletes_sent += 1
        path = entry["path"].split("?")[0]
        if path in done:
            answered[path] = answered.get(path, 0) + 1
        if entry.get("status") is not None and 200 <= entry["status"] < 300:
            done.add(path)
    if answered:
        trial.problems.append(f"DELETE sent again after a 2xx: {sorted(answered)[:3]}")
    _check_receipt(work, done, trial)


def _check_receipt(work: Path, deleted_paths: set[str], trial: Trial) -> None:
    receipts = sorted((work / "plans").glob("*.receipt.json"))
    if len(receipts) != 1:
        trial.problems.append(f"{len(receipts)} receipts, not one")
        return
    doc = json.loads(receipts[0].read_text())
    if not doc["complete"]:
        trial.problems.append(f"receipt not complete: {doc['summary']}")
    for item in doc["items"]:
        if item["action"] != "delete":
            continue
        path = "/" + item["url"].removeprefix("https://").split("?")[0]
        sent = path in deleted_paths
        if (item["result"] == "deleted") != sent:
            trial.problems.append(
                f"receipt says {item['result']} for {item['address']}, the access log "
                f"{'shows' if sent else 'shows no'} DELETE answered 2xx"
            )
