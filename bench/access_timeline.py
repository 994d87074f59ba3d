"""Requests per time slice in an emulator access log: where a run kept its requests in flight
and where it let them drop, and what it was sending there.

`amlctl emulator serve --access-log FILE` writes one JSON line per answered request, stamped
when the answer went out (to the millisecond). For the lines of one run (the last N, or those
after line K), this prints the run's span against its latency floor (requests x latency /
parallelism), the number of requests in each slice of time, and, for the slices well below the
rate the floor assumes, which URL shapes were answered there (ids and tokens folded away):

    python bench/access_timeline.py access.jsonl --last 2175 --latency-ms 20 --parallelism 10
    python bench/access_timeline.py access.jsonl --after 1039 --slice 0.5

A dip at the start is the run's ramp-up; one at the end, or in the middle, is work the client
did with the network idle (the "apply's order" section of bench/README.md found one this way).
Reads the file only; stops by itself.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

# Ids (uuids, hex digests, run ids with a timestamp), numbers and query strings vary per item;
# folded, the URLs of one call fall together.
_VARYING = re.compile(r"/[^/?]*[0-9][^/?]*")
DIP = 0.6  # a slice under this share of the floor's rate counts as a dip


def stamps_and_paths(path: Path, after: int, last: int | None) -> list[tuple[float, str]]:
    """(time the answer went out, path) of the chosen lines; exits naming a bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()[after:]
    except (OSError, UnicodeDecodeError) as error:
        sys.exit(f"{path}: cannot read: {error}")
    if last is not None:
        lines = lines[-last:]
    found = []
    for number, line in enumerate(lines, start=after + 1):
        try:
            entry = json.loads(line)
            found.append((datetime.fromisoformat(entry["time"]).timestamp(), entry["path"]))
        except (ValueError, KeyError, TypeError) as error:
            sys.exit(f"{path}:{number}: not an access-log line ({error})")
    if not found:
        sys.exit(f"{path}: no lines to read")
    return found


def shape(path: str) -> str:
    """The URL's last three segments, what varies per item folded to `*` (the scope before
    them is the same for every call of a workspace)."""
    folded = _VARYING.sub("/*", path.split("?", 1)[0])
    return "/".join(folded.rsplit("/", 3)[-3:])


def report(entries: list[tuple[float, str]], args: argparse.Namespace) -> str:
    start, end = entries[0][0], entries[-1][0]
    # A line is stamped at its answer: the first request went out about a latency earlier.
    span = end - start + args.latency_ms / 1000
    floor = len(entries) * args.latency_ms / 1000 / args.parallelism
    slices = int((end - start) / args.slice) + 1
    counts = [0] * slices
    shapes: list[Counter[str]] = [Counter() for _ in range(slices)]
    for stamp, path in entries:
        at = int((stamp - start) / args.slice)
        counts[at] += 1
        shapes[at][shape(path)] += 1
    # What the floor assumes: `parallelism` requests in flight all the time.
    rate = args.parallelism * args.slice / (args.latency_ms / 1000)
    lines = [
        f"{len(entries)} requests in {span:.2f} s; floor {floor:.2f} s ({span / floor:.2f}x); "
        f"per {args.slice:g} s slice (the floor's rate is {rate:.0f}):",
        " ".join(str(count) for count in counts),
    ]
    for at, count in enumerate(counts[:-1]):  # the last slice is cut short by the run's end
        if count < DIP * rate:
            top = ", ".join(f"{n} {s}" for s, n in shapes[at].most_common(3))
            lines.append(f"  {at * args.slice:7.2f} s: {count:4d}  {top}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("log", type=Path, help="an emulator access log (JSON lines)")
    parser.add_argument("--after", type=int, default=0, help="skip this many lines first")
    parser.add_argument("--last", type=int, default=None, help="only the last N lines")
    parser.add_argument("--slice", type=float, default=0.25, help="seconds per slice")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the injected latency")
    parser.add_argument("--parallelism", type=int, default=10, help="requests in flight")
    args = parser.parse_args(argv)
    if args.slice <= 0 or args.parallelism < 1 or args.latency_ms <= 0:
        parser.error("--slice and --latency-ms must be above 0, --parallelism at least 1")
    print(report(stamps_and_paths(args.log, args.after, args.last), args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
