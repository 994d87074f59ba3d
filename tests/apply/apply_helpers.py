"""Helpers for the end-to-end apply tests: a loopback emulator with an access log, planning an
example manifest in a temp folder, running amlctl in-process, in a subprocess or in a
pseudo-terminal, and reading what apply left behind (journal, receipt, export folder).

The emulator always runs in the test process (a server thread over a demo-seeded SQLite file),
so a test can change the store between plan and apply and read the access log, while the
amlctl under test may be a real child process that the test kills with SIGKILL.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from amlctl.apply import receipt
from amlctl.cli import main
from amlctl.emulator import EmulatorApp, EmulatorConfig, Store, open_store
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION
from amlctl.emulator.server import running_server
from amlctl.emulator.store import workspace_key
from amlctl.fsio import TEMP_PREFIX

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "plans" / "examples"
TOKEN = "amlctl-emulator"
DSR = "dsr-export-erase"
FULL_EXPORT = "workspace-export"
TEARDOWN = "workspace-teardown"


# -- the emulator -----------------------------------------------------------------------------


@dataclass
class Emulator:
    """A running emulator: its origin, app (config), store and access log."""

    origin: str
    app: EmulatorApp
    store: Store
    log_path: Path

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        """Access-log entries (one per request), from entry number `since` on."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines[since:] if line.strip()]

    def mark(self) -> int:
        """The number of requests logged so far (a `since` for later reads)."""
        return len(self.log())

    def deletes(self, since: int = 0) -> list[dict[str, Any]]:
        return [entry for entry in self.log(since) if entry["method"] == "DELETE"]

    def set_latency(self, ms: int) -> None:
        """Change the latency of later requests (the app reads its config per request)."""
        self.app.config = self.app.config.replace(latency_ms=ms)

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until no request has been logged for `quiet` seconds: requests a killed client
        sent are handled (and change the store) even though nobody reads the answer."""
        deadline = time.monotonic() + timeout
        last, since = self.mark(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.mark()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        raise AssertionError("the emulator kept receiving requests")


@contextmanager
def emulator(
    folder: Path, port: int = 0, *, seed: str = "demo", **config: Any
) -> Iterator[Emulator]:
    """An emulator seeded with `seed` (demo, scale:N) on 127.0.0.1:`port` (0: any free port)
    over `folder/emulator.db`, logging to `folder/access.log`; `config` sets EmulatorConfig
    fields."""
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "access.log"
    store = open_store(folder / "emulator.db", seed)
    app = EmulatorApp(store, EmulatorConfig(access_log=log_path, **config))
    try:
        with running_server(app, port=port) as server:
            yield Emulator(server.origin, app, store, log_path)
    finally:
        app.close()
        store.close()


def ws_key(workspace: str) -> str:
    return workspace_key(SUBSCRIPTION, RESOURCE_GROUP, workspace)


def log_path_of(url: str) -> str:
    """How the access log shows a request for the https catalog `url` (`/host/path?query`)."""
    split = urlsplit(url)
    return f"/{split.netloc}{split.path}" + (f"?{split.query}" if split.query else "")


# -- plans ------------------------------------------------------------------------------------


@dataclass
class Planned:
    """A plan made in the current folder, with what the tests read from it."""

    path: Path
    doc: dict[str, Any]

    @property
    def digest(self) -> str:
        return str(self.doc["digest"])

    @property
    def changes(self) -> list[dict[str, Any]]:
        return list(self.doc["changes"])

    def of(self, action: str) -> list[dict[str, Any]]:
        return [c for c in self.changes if c["action"] == action]

    @property
    def exports(self) -> list[dict[str, Any]]:
        return self.of("export")

    @property
    def deletes(self) -> list[dict[str, Any]]:
        return self.of("delete")

    def change(self, address: str) -> dict[str, Any]:
        return next(c for c in self.changes if c["address"] == address)

    @property
    def export_root(self) -> Path:
        return Path(self.doc["export_to"])

    @property
    def journal_path(self) -> Path:
        stem = receipt.run_stem(self.path, self.digest)
        return stem.with_name(stem.name + ".journal.jsonl")

    def journal(self) -> list[dict[str, Any]]:
        return read_jsonl(self.journal_path)

    def receipt(self) -> dict[str, Any]:
        json_path, _ = receipt.receipt_paths(self.path, self.digest)
        doc: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8"))
        return doc

    def receipt_markdown(self) -> str:
        _, md_path = receipt.receipt_paths(self.path, self.digest)
        return md_path.read_text(encoding="utf-8")

    def receipt_items(self) -> dict[str, dict[str, Any]]:
        return {item["address"]: item for item in self.receipt()["items"]}


def copy_manifest(name: str, folder: Path) -> Path:
    """Copy `plans/examples/<name>.yaml` into `folder` (exports then land under it)."""
    target = folder / f"{name}.yaml"
    shutil.copyfile(EXAMPLES / f"{name}.yaml", target)
    return target


def make_plan(emu: Emulator, name: str) -> Planned:
    """Plan the example `name` against `emu` in the current folder; fail unless it planned."""
    return plan_manifest(emu, copy_manifest(name, Path.cwd()))


def plan_manifest(emu: Emulator, manifest: Path) -> Planned:
    """Plan `manifest` (in the current folder) against `emu`; fail unless it planned."""
    result = cli("plan", manifest.name, "--endpoint", emu.origin)
    assert result.code == 0, result.err
    path = Path("plans") / f"{manifest.stem}.plan.json"
    return Planned(path, json.loads(path.read_text(encoding="utf-8")))


# -- running amlctl ---------------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def cli(*args: str) -> Result:
    """`amlctl ARGS` in this process (stdin is pytest's, which is not a terminal)."""
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def amlctl_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "amlctl", *args]


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AMLCTL_ENDPOINT"}
    env["PYTHONUNBUFFERED"] = "1"
    env["NO_COLOR"] = "1"
    return env


def run_child(*args: str, timeout: float = 30.0, stdin: int | None = None) -> Result:
    """`python -m amlctl ARGS` in a child process (stdin: /dev/null unless given)."""
    done = subprocess.run(
        amlctl_argv(*args),
        stdin=subprocess.DEVNULL if stdin is None else stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def start_child(*args: str, output: Path) -> subprocess.Popen[bytes]:
    """Start `python -m amlctl ARGS` writing stdout and stderr to `output`."""
    with output.open("wb") as sink:
        return subprocess.Popen(
            amlctl_argv(*args),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=child_env(),
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL and reap."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def run_in_pty(
    args: Sequence[str], answer: str, prompt: bytes = b"to confirm", timeout: float = 30.0
) -> tuple[int, str, bool]:
    """Run `python -m amlctl ARGS` with stdin, stdout and stderr on a pseudo-terminal; type
    `answer` once `prompt` appears. Returns (exit code, everything it printed, prompted)."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        amlctl_argv(*args),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=child_env(),
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    prompted = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                seen += chunk
                if not prompted and prompt in seen:
                    prompted = True
                    os.write(master, answer.encode() + b"\n")
            elif process.poll() is not None:
                break
        else:
            raise AssertionError(f"amlctl did not finish in {timeout} s:\n{seen.decode()}")
        code = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            kill(process)
        os.close(master)
    return code, seen.decode("utf-8", "replace"), prompted


# -- what apply left behind -------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:  # a torn last line of a killed writer
            continue
    return out


def count_events(path: Path, event: str) -> int:
    return sum(1 for record in read_jsonl(path) if record["event"] == event)


def wait_for_event(
    path: Path,
    event: str,
    count: int,
    process: subprocess.Popen[bytes],
    timeout: float = 20.0,
) -> None:
    """Poll the journal until it holds `count` `event` records (the child must still run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count_events(path, event) >= count:
            return
        if process.poll() is not None:
            raise AssertionError(
                f"apply exited ({process.returncode}) before {count} {event} records"
            )
        time.sleep(0.002)
    raise AssertionError(f"no {count} {event} records in {path} after {timeout} s")


def temp_leftovers(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX))


def terminal_counts(journal: list[dict[str, Any]]) -> Counter[str]:
    """Terminal journal events per address."""
    terminal = {"export-done", "delete-done", "skipped"}
    return Counter(r["address"] for r in journal if r["event"] in terminal)
