"""The full torture run: what tests/torture tries a few times, tried hundreds of times, with the
README's table of what was tried and what held rewritten from the results.

    python bench/torture.py                      # >= 100 kill -9 trials etc.; rewrites README
    python bench/torture.py --kills 10 --faults 2 --examples 200 --no-readme   # a smoke run

Parts (each counts as held only when every trial of it held):
- kill -9 soak: a mixed export+delete plan on a scale seed with latency, SIGKILLed at a random
  moment (half the trials) or once deletes go out (the other half; a quarter killed twice),
  re-run until done, compared with a fault-free run (tests/torture/harness.py says how);
- faults: 25% of requests faulted (500, 503, reset, truncated body, stall) and 5% answered 429
  with Retry-After, on several fault seeds: completion, identical exports, no request into a
  429's window;
- manifest fuzz, hostile YAML, mutated catalogs (hypothesis, TORTURE_EXAMPLES examples each);
- canary token and subject, file-system attacks, hostile server data: the tests in
  tests/torture, run once each.

Bounded: every request goes to 127.0.0.1, each amlctl process has a timeout, and everything is
written under a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.torture.harness import (  # noqa: E402  (the repository root is on the path first)
    Golden,
    Setup,
    Trial,
    fault_trial,
    golden,
    kill_trial,
    make_seed,
)

README = REPO / "README.md"
START, END = "<!-- torture-table:start -->", "<!-- torture-table:end -->"
PYTEST_PARTS = {
    "canary": ("tests/torture/test_canary.py", "a canary token and the canary subject through "
               "validate, plan, show, apply (wrong target, done, again, a copy), verify, "
               "receipt, package and errors", "found in no file and no output (her exports "
               "aside)"),
    "filesystem": ("tests/torture/test_filesystem.py", "a link planted in the export folder, a "
                   "hard link at a final path, a full disk", "nothing written outside or "
                   "through a link, clean failure, the re-run exports the same bytes"),
    "hostile": ("tests/torture/test_hostile_server.py", "server ids and names with device "
                "names, 300 characters, path tricks and escapes", "confined, portable names, no "
                "raw escape printed; unusable ids stop the plan cleanly"),
}


@dataclass
class Row:
    part: str
    tried: str
    amount: str
    held_means: str
    held: bool
    detail: str


def main() -> int:
    args = _options()
    with tempfile.TemporaryDirectory(prefix="amlctl-torture-") as tmp:
        folder = Path(tmp)
        _isolate(folder)
        setup = Setup(make_seed(folder / "seed", runs=args.runs, extra=args.extra),
                      latency_ms=args.latency_ms)
        gold = golden(folder, setup)
        rows = [
            _kill_soak(folder, setup, gold, args.kills, args.seed),
            _fault_runs(folder, setup, gold, args.faults),
            _properties(folder, args.examples),
            *(_pytest_part(folder, name) for name in PYTEST_PARTS),
        ]
    _report(rows, args, gold)
    if not args.no_readme:
        _rewrite_readme(rows, args, gold)
    return 0 if all(row.held for row in rows) else 1


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100, help="kill -9 trials")
    parser.add_argument("--faults", type=int, default=5, help="fault-injection runs (seeds)")
    parser.add_argument("--examples", type=int, default=3000, help="hypothesis examples each")
    parser.add_argument("--runs", type=int, default=20, help="runs in the scale seed")
    parser.add_argument("--extra", type=int, default=12, help="more of each deletable kind")
    parser.add_argument("--latency-ms", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026, help="of the kill moments")
    parser.add_argument("--no-readme", action="store_true", help="print, do not rewrite")
    return parser.parse_args()


def _isolate(folder: Path) -> None:
    """What tests/conftest.py does for the tests: no user state, database or key touched."""
    os.environ["XDG_STATE_HOME"] = str(folder / "state")
    os.environ["AMLCTL_EMULATOR_DB"] = str(folder / "default.db")
    os.environ["AMLCTL_PSEUDONYM_KEY_FILE"] = str(REPO / "tests" / "data" / "pseudonym-test.key")


def _kill_soak(folder: Path, setup: Setup, gold: Golden, trials: int, seed: int) -> Row:
    rng = random.Random(seed)
    done: list[Trial] = []
    begun = time.monotonic()
    for number in range(trials):
        aim = "delete" if number % 2 else "any"
        trial = kill_trial(folder, setup, gold, number, rng, aim)
        done.append(trial)
        _progress("kill", number + 1, trials, trial)
    failed = [t for t in done if not t.held]
    kills = sum(t.kills for t in done)
    reruns = sum(t.runs for t in done) - kills
    detail = (f"{kills} kills ({sum(1 for t in done if t.kills > 1)} trials killed twice), "
              f"{reruns} re-runs, {sum(t.deletes_sent for t in done)} DELETEs sent, "
              f"{time.monotonic() - begun:.0f} s")
    return Row("kill -9 soak", f"a plan of {len(gold.files)} export files and {gold.deletes} "
               "deletes, SIGKILL at a random moment or once deletes go out, re-run until done",
               f"{trials} trials", "exports byte-identical, index complete, no partial file, no "
               "DELETE after a 2xx, receipt = access log", not failed,
               _with_failures(detail, failed))


def _fault_runs(folder: Path, setup: Setup, gold: Golden, runs: int) -> Row:
    done = []
    for number in range(runs):
        trial = fault_trial(folder, setup, gold, 1000 + number)
        done.append(trial)
        _progress("faults", number + 1, runs, trial)
    failed = [t for t in done if not t.held]
    requests = sum(t.requests for t in done)
    detail = (f"{requests} requests, {sum(t.throttled for t in done)} answered 429, "
              f"{sum(t.in_window for t in done)} sent into a 429's window, "
              f"{sum(t.runs for t in done)} applies")
    return Row("faults + 429", "25% of requests faulted (500, 503, reset, truncated, stall), 5% "
               "429 with Retry-After", f"{runs} seeds", "complete, byte-identical, nothing "
               "deleted twice, no request into a throttled window", not failed,
               _with_failures(detail, failed))


def _properties(folder: Path, examples: int) -> Row:
    done = _pytest(folder, "tests/torture/test_properties.py", TORTURE_EXAMPLES=str(examples))
    return Row("property tests", "generated manifests (misspelt keys and paths, every test, "
               "bad values), hostile YAML, mutated catalogs", f"{examples} examples each",
               "exit 0 or a clean error, never a traceback; no delete wider than the words",
               done.returncode == 0, _last_line(done))


def _pytest_part(folder: Path, name: str) -> Row:
    path, tried, held_means = PYTEST_PARTS[name]
    done = _pytest(folder, path)
    return Row(name, tried, "once", held_means, done.returncode == 0, _last_line(done))


def _pytest(folder: Path, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path,
         "--basetemp", str(folder / f"pytest-{Path(path).stem}")],
        cwd=REPO, capture_output=True, text=True, timeout=3600, check=False,
        env={**os.environ, **env},
    )


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[-1].strip("= ") if lines else f"exit {done.returncode}"


def _with_failures(detail: str, failed: list[Trial]) -> str:
    if not failed:
        return detail
    shown = "; ".join(f"{t.name}: {t.problems[0]}" for t in failed[:3])
    return f"{detail}; {len(failed)} did not hold: {shown}"


def _progress(part: str, number: int, total: int, trial: Trial) -> None:
    state = "held" if trial.held else "FAILED: " + "; ".join(trial.problems)
    print(f"{part} {number}/{total} {trial.name}: exit codes {trial.exit_codes} {state}",
          file=sys.stderr, flush=True)


def _table(rows: list[Row], args: argparse.Namespace, gold: Golden) -> str:
    lines = [
        f"Last full run: `python bench/torture.py` (scale:{args.runs} with {args.extra} more of "
        f"each deletable kind, {args.latency_ms} ms latency; the fault-free apply took "
        f"{gold.seconds:.1f} s).",
        "",
        "| what was tried | how much | holds when | held | measured |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        mark = "yes" if row.held else "**no**"
        lines.append(f"| {row.part}: {row.tried} | {row.amount} | {row.held_means} | {mark} | "
                     f"{row.detail.replace('|', '/')} |")
    return "\n".join(lines)


def _report(rows: list[Row], args: argparse.Namespace, gold: Golden) -> None:
    print(_table(rows, args, gold))
    print(json.dumps([row.__dict__ for row in rows], indent=2), file=sys.stderr)


def _rewrite_readme(rows: list[Row], args: argparse.Namespace, gold: Golden) -> None:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{README}: no {START} ... {END} section to rewrite")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    README.write_text(f"{before}{START}\n{_table(rows, args, gold)}\n{END}{after}",
                      encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
