"""What apply's local work costs per exported item, alone on one thread: the floor under its CPU.

`apply` exports an item by decoding it from an answer, checking its fingerprint, nulling its
secrets, writing it as pretty JSON (and its artifact bytes beside it) through `amlctl.fsio`
(hashed, fsync'd, renamed into place), journaling it and recording its index entry. This script
runs a real `amlctl plan` + `apply` of everything on `scale:N` (an emulator in its own process,
no injected latency), then replays that local work on the documents apply wrote, one
item after another on one thread, with no network, no other thread and no GIL to hand over:

- `decode`: `json.loads` of the item's compact JSON and the catalog kind's `fingerprint`;
- `encode`: secrets nulled, pretty JSON, SHA-256 (no disk);
- `files`: `Exporter.export_item` into a fresh folder (content file first, then the JSON; the
  folders' fsyncs batched by the journal's group commit, as in apply), the export-done journal
  line and the index entry; then the last sync, `index.json` and closing the folders;
- `bare files`, `bare, no fsync`: the same bytes, made beforehand, written as any crash-safe
  writer must (create a temp file, write, fsync, rename), and without the fsync, which gives
  that guarantee up: the kernel's share, the floor under `files`.

The replay runs `--rounds` times, each in fresh folders, and keeps each stage's fastest round.
It prints, per exported item and per apply request, the CPU (user + system) of the real apply
and of each replayed stage. What apply spends above `decode` + `files` is its HTTP client, its
threads and its start and end (loading the plan, the receipt).

    python bench/export_floor.py [--runs 1000] [--rounds 3] [--json]

Bounded: loopback only, one size up to 20,000 runs, stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perf_bench import LISTABLE, amlctl_pair, manifest
from served import emulator_process

MAX_RUNS = 20_000


@dataclass
class Exported:
    """One item as apply wrote it: where, its document, its bytes on the wire, its content."""

    address: str
    kind: str
    file: str
    item: dict[str, Any]
    wire: bytes
    content_file: str | None
    content: bytes | None


@dataclass
class Stage:
    name: str
    user: float  # CPU seconds
    system: float
    seconds: float

    @property
    def cpu(self) -> float:
        return self.user + self.system


@contextmanager
def timed(name: str, stages: list[Stage]) -> Iterator[None]:
    before, started = os.times(), time.perf_counter()
    yield
    after = os.times()
    stages.append(Stage(name, after.user - before.user, after.system - before.system,
                        time.perf_counter() - started))


def exported_items(root: Path) -> list[Exported]:
    """Every item apply exported under `root`, from its index, as apply had it in memory."""
    from amlctl.apply.export.exporter import NOTE_KEY
    from amlctl.apply.export.index import read_entries

    entries = read_entries(str(root))
    items = []
    for address, entry in sorted(entries.items()):
        item = json.loads((root / entry["file"]).read_bytes())
        item.pop(NOTE_KEY, None)  # ours, added after the secrets were nulled
        content_file = entry.get("content_file")
        content = (root / content_file).read_bytes() if content_file else None
        kind = entry["file"].split("/")[-2]  # <workspace>/<kind>/<name>.json
        wire = json.dumps(item, separators=(",", ":")).encode()
        items.append(Exported(address, kind, entry["file"], item, wire, content_file, content))
    return items


def replay(items: list[Exported], folder: Path, rounds: int) -> list[Stage]:
    """apply's local work on `items`, one at a time, `rounds` times in fresh folders; each
    stage's fastest round (the CPU a file create costs here moves with what was deleted on this
    disk shortly before, by anyone: see bench/README.md)."""
    from amlctl.catalog import load_catalog

    catalog = load_catalog("azureml-2019-11-01")
    kinds = {item.kind: catalog.kind(item.kind) for item in items}
    files = [(f, data) for item in items for f, data in _bytes_of(item)]
    best: dict[str, Stage] = {}
    for round_ in range(rounds):
        stages: list[Stage] = []
        with timed("decode", stages):
            for item in items:
                kinds[item.kind].fingerprint(json.loads(item.wire))
        with timed("encode", stages):
            _encode(items)
        # What any writer that never leaves half a file under a final name asks of the
        # kernel, with the bytes made beforehand; and the same with no fsync, giving that up.
        for sync in (True, False):
            root = folder / f"{round_}-bare-{sync}"
            for parent in {os.path.dirname(f) for f, _ in files}:
                (root / parent).mkdir(parents=True, exist_ok=True)
            with timed("bare files" if sync else "bare, no fsync", stages):
                _write_bare(files, root, sync=sync)
        with timed("files", stages):
            _export(items, folder / f"{round_}-amlctl")
        for stage in stages:
            if stage.name not in best or stage.cpu < best[stage.name].cpu:
                best[stage.name] = stage
    return list(best.values())


def _encode(items: list[Exported]) -> None:
    import hashlib

    from amlctl.apply.export.exporter import strip_secrets
    from amlctl.canonical import pretty_json

    for item in items:
        hashlib.sha256(pretty_json(strip_secrets(item.item)[0], allow_nan=True)).hexdigest()


def _export(items: list[Exported], folder: Path) -> None:
    """What apply's `_export` does once it holds the item, and its last sync and index."""
    from amlctl.apply.export.exporter import Exporter
    from amlctl.apply.journal import EXPORT_DONE, START, Journal

    folder.mkdir()
    exporter = Exporter(folder / "exports")
    journal = Journal.open(folder / "replay.journal.jsonl")
    journal.append(START, plan_digest="sha256:" + "0" * 64, target="replay", started="")
    journal.before_sync = exporter.sync
    for item in items:
        record = exporter.export_item(
            item.address, item.file, item.item, source_url=f"https://example/{item.file}",
            request_id="0" * 32, fingerprint="sha256:" + "0" * 64,
            content=None if item.content is None else (item.content,),
        )
        fields = {k: v for k, v in record.entry().items() if k != "request_id"}
        journal.append(EXPORT_DONE, item.address, durable=False, status=200,
                       request_id="0" * 32, **fields)
        exporter.record(item.address, record)
    journal.sync()
    exporter.flush_index()
    exporter.close()
    journal.close()


def _bytes_of(item: Exported) -> list[tuple[str, bytes]]:
    """The files of `item` as apply writes them, content first."""
    from amlctl.canonical import pretty_json

    data = [(item.file, pretty_json(item.item, allow_nan=True))]
    if item.content_file is not None and item.content is not None:
        data.insert(0, (item.content_file, item.content))
    return data


def _write_bare(files: list[tuple[str, bytes]], root: Path, *, sync: bool) -> None:
    for name, data in files:
        final = os.path.join(root, name)
        temp = final + ".tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        if sync:
            os.fsync(fd)
        os.close(fd)
        os.rename(temp, final)


def measure(runs: int, args: argparse.Namespace, say: Callable[[str], None],
            tmp: Path) -> dict[str, Any]:
    from amlctl.emulator import open_store

    work = tmp / "work"
    work.mkdir()
    (work / "job.yaml").write_text(manifest("bench-export", LISTABLE, ()))
    say(f"scale:{runs}: seeding")
    open_store(work / "db.sqlite3", f"scale:{runs}").close()
    with emulator_process(work / "db.sqlite3", seed="none", latency_ms=0,
                          log=work / "access.jsonl") as (origin, _):
        say(f"scale:{runs}: plan + apply at parallelism {args.parallelism}")
        _, apply = amlctl_pair(work, origin, work / "access.jsonl", args)
    items = exported_items(work / "exports")
    say(f"scale:{runs}: replaying the local work of {len(items)} exports on one thread")
    replayed = tmp / "replay"
    replayed.mkdir()
    stages = replay(items, replayed, args.rounds)
    per_request = len(items) / apply.requests
    return {
        "runs": runs, "rounds": args.rounds, "parallelism": args.parallelism,
        "items": len(items), "apply requests": apply.requests,
        "items per request": per_request,
        "content files": sum(1 for item in items if item.content is not None),
        "apply ms/item": 1000 * apply.cpu / len(items),
        "apply ms/req": 1000 * apply.cpu / apply.requests,
        "stages": {s.name: {"ms/item": 1000 * s.cpu / len(items),
                            "user ms/item": 1000 * s.user / len(items),
                            "sys ms/item": 1000 * s.system / len(items),
                            "ms/req": 1000 * s.cpu * per_request / len(items),
                            "wall s": s.seconds} for s in stages},
    }


def report(result: dict[str, Any]) -> str:
    local = result["stages"]["decode"]["ms/item"] + result["stages"]["files"]["ms/item"]
    lines = [
        f"scale:{result['runs']}: {result['items']} exports ({result['content files']} with "
        f"content) from {result['apply requests']} apply requests, "
        f"{result['items per request']:.2f} exports per request",
        f"{'':<28}{'ms/item':>8}{'ms/req':>8}{'user':>8}{'sys':>8}",
        f"{'apply (real, ' + str(result['parallelism']) + ' in flight)':<28}"
        f"{result['apply ms/item']:>8.3f}"
        f"{result['apply ms/req']:>8.3f}",
    ]
    for name, stage in result["stages"].items():
        lines.append(f"{'  replayed: ' + name:<28}{stage['ms/item']:>8.3f}{stage['ms/req']:>8.3f}"
                     f"{stage['user ms/item']:>8.3f}{stage['sys ms/item']:>8.3f}")
    per_request = local * result["items per request"]
    lines.append(f"{'  replayed: decode + files':<28}{local:>8.3f}{per_request:>8.3f}")
    lines.append(f"fastest of {result['rounds']} replays; {time.strftime('%Y-%m-%d')}, "
                 f"{os.cpu_count()} CPUs, "
                 f"load average {os.getloadavg()[0]:.1f}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="N of scale:N")
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per process")
    parser.add_argument("--rounds", type=int, default=3, help="replays; the fastest is kept")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= MAX_RUNS or not 1 <= args.rounds <= 10:
        parser.error(f"--runs must be from 1 to {MAX_RUNS}, --rounds from 1 to 10")

    def say(message: str) -> None:
        print(f"export_floor: {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="amlctl-export-floor-") as tmp:
        result = measure(args.runs, args, say, Path(tmp))
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
