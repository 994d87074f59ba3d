"""What a pull-request comment adds to the plan: its marker, who must approve, the deadline.

The marker is a hidden HTML comment holding the plan's digest and its manifest's path. The
workflow finds a manifest's comment again by it (one comment per manifest, updated in place),
and the apply job refuses a plan file whose digest is not the one the comment showed reviewers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, unquote

from amlctl.errors import UsageError

SOON_DAYS = 7  # a request due within a week is flagged; past its due date the check fails
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_MARKER = re.compile(r"<!-- amlctl:plan digest=(\S+) manifest=(\S+)(?: run=([0-9]+))? -->")
# A GitHub user (`octocat`) or team (`org/team`), with or without the leading @.
_APPROVER = re.compile(r"@?([A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9._-]{1,100})?)")


@dataclass(frozen=True)
class Review:
    """The reviewing side of a comment: set by the workflow, never read from the plan."""

    today: date
    approvers: tuple[str, ...] = ()
    previous_digest: str | None = None  # the plan this comment showed before this push
    run_id: str | None = None  # the workflow run whose artifact holds the plan file


@dataclass(frozen=True)
class Marker:
    """A parsed marker: which manifest's comment, showing which plan."""

    digest: str
    manifest: str
    run_id: str | None = None


def approvers(names: Sequence[str]) -> tuple[str, ...]:
    """`names` as @-handles; UsageError naming one that is no GitHub user or team."""
    handles = []
    for name in names:
        match = _APPROVER.fullmatch(name.strip())
        if match is None:
            raise UsageError(f"--approver {name!r}: not a GitHub user or org/team name")
        handles.append(f"@{match.group(1)}")
    return tuple(handles)


def plan_marker(doc: Mapping[str, Any], run_id: str | None = None) -> str:
    """`<!-- amlctl:plan digest=sha256:... manifest=plans/x.yaml run=123 -->` for a plan
    document (`run=` when a workflow run's artifact holds the plan file).

    The path is percent-encoded (spaces, `>`, and `--`, which would end the HTML comment)."""
    digest = str(doc.get("digest", ""))
    manifest = str((doc.get("manifest") or {}).get("path", ""))
    run = f" run={run_id}" if run_id and run_id.isdigit() else ""
    return (
        f"<!-- amlctl:plan digest={digest if _DIGEST.fullmatch(digest) else 'invalid'} "
        f"manifest={encode_path(manifest) or '-'}{run} -->"
    )


def encode_path(path: str) -> str:
    return quote(path, safe="/._~").replace("--", "-%2D")


def find_marker(body: str) -> Marker | None:
    """The marker in a comment body; None for one amlctl did not write, or an outdated one."""
    match = _MARKER.search(body)
    if match is None:
        return None
    return Marker(match.group(1), unquote(match.group(2)), match.group(3))


def deadline(due: str | None, today: date) -> tuple[str, int] | None:
    """(`ok`, `soon`, `today` or `overdue`, days left or overdue) for a due date, else None."""
    if not due:
        return None
    left = (date.fromisoformat(str(due)[:10]) - today).days
    if left < 0:
        return "overdue", -left
    if left == 0:
        return "today", 0
    return ("soon" if left < SOON_DAYS else "ok"), left


def review_context(doc: Mapping[str, Any], review: Review | None) -> dict[str, Any] | None:
    """What the template's review section shows, or None for a plain rendering (`show`)."""
    if review is None:
        return None
    request = doc.get("request") or {}
    return {
        "approvers": review.approvers,
        "deadline": deadline(request.get("due"), review.today),
        "due": request.get("due"),
        "today": review.today.isoformat(),
        "previous": review.previous_digest if review.previous_digest != doc.get("digest") else None,
        "digest": doc.get("digest"),
    }
