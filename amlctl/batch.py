"""Plans over several manifests: which files `plan DIR|GLOB...` means, one summary, one exit code.

An organisation keeps a manifest per request or workspace in one folder; planning them all at
once must not stop at the first bad one, and its exit code must say the worst that happened:
any error 1, else (with --detailed-exitcode) any change 2, else 0.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amlctl.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, UsageError
from amlctl.terminal import visible

MANIFEST_SUFFIXES = (".yaml", ".yml")
_GLOB_CHARS = frozenset("*?[")


def expand(arguments: Sequence[Path]) -> list[Path]:
    """The manifests `arguments` name: a file as is, a folder's *.yaml and *.yml files (not its
    subfolders), a glob's matches; in order, each once. UsageError for one that names none."""
    found: list[Path] = []
    for argument in arguments:
        matches = _matches(argument)
        if not matches:
            raise UsageError(f"{argument}: no manifest found (a file, a folder or a glob)")
        found += [path for path in matches if path not in found]
    return found


def _matches(argument: Path) -> list[Path]:
    text = str(argument)
    if _GLOB_CHARS & set(text):
        return [Path(p) for p in sorted(glob.glob(text, recursive=True)) if Path(p).is_file()]
    if argument.is_dir():
        inside = argument.iterdir()
        return sorted(p for p in inside if p.suffix in MANIFEST_SUFFIXES and p.is_file())
    return [argument]  # a missing file is reported by the loader, with its name


def default_plan_paths(manifests: Sequence[Path]) -> list[Path]:
    """`plans/<stem>.plan.json` for each manifest; UsageError when two would share a file
    (one plan would silently replace the other)."""
    paths = [Path("plans") / f"{m.stem}.plan.json" for m in manifests]
    seen: dict[Path, Path] = {}
    for manifest, path in zip(manifests, paths, strict=True):
        if path in seen:
            raise UsageError(
                f"{seen[path]} and {manifest} would both write {path}: rename one, "
                "or plan them one at a time with -o"
            )
        seen[path] = manifest
    return paths


@dataclass(frozen=True)
class Outcome:
    """What planning one manifest gave: its plan's digest and counts, or the error."""

    manifest: Path
    plan: Path
    digest: str | None = None
    summary: Mapping[str, int] | None = None
    error: str | None = None

    @property
    def changes(self) -> int:
        summary = self.summary or {}
        return int(summary.get("export", 0)) + int(summary.get("delete", 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest.as_posix(),
            "plan": self.plan.as_posix() if self.error is None else None,
            "digest": self.digest,
            "summary": dict(self.summary) if self.summary is not None else None,
            "changes": self.changes,
            "error": self.error,
        }


def exit_code(outcomes: Sequence[Outcome], detailed: bool) -> int:
    """Any error 1; else, with --detailed-exitcode, any change 2; else 0."""
    if any(o.error is not None for o in outcomes):
        return EXIT_ERROR
    if detailed and any(o.changes for o in outcomes):
        return EXIT_CHANGES
    return EXIT_OK


def summary_text(outcomes: Sequence[Outcome]) -> str:
    """One line per manifest, then the totals: what a reviewer of a folder of plans reads."""
    width = max(len(o.manifest.as_posix()) for o in outcomes)
    lines = []
    for o in outcomes:
        name = f"{visible(o.manifest.as_posix()):<{width}}"
        if o.error is not None:
            first = o.error.splitlines()[0] if o.error else "error"
            lines.append(f"  {name}  error: {visible(first)}")
        else:
            lines.append(f"  {name}  {_counts(o.summary or {})} -> {o.plan.as_posix()}")
    errors = sum(o.error is not None for o in outcomes)
    changed = sum(bool(o.changes) for o in outcomes if o.error is None)
    head = (
        f"Plans: {len(outcomes)} manifests, {changed} with changes, "
        f"{len(outcomes) - errors - changed} without, {errors} failed."
    )
    return "\n".join([head, *lines])


def _counts(summary: Mapping[str, int]) -> str:
    parts = [f"{summary.get('export', 0)} to export", f"{summary.get('delete', 0)} to delete"]
    parts += [f"{summary[key]} {key}" for key in ("blocked", "manual") if summary.get(key)]
    return ", ".join(parts)
