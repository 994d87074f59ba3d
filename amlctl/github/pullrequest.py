"""The pull-request side of a plan: one comment per manifest, the digest reviewers approved,
and the receipt once applied.

Only comments written by the workflow's own account (`author`, github-actions[bot] by default)
count: anyone can comment on a pull request, so a marker in someone else's comment must never
decide which plan gets applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from amlctl.errors import ApplyRefused
from amlctl.github.api import Comment, GitHubApi
from amlctl.render.markdown import COMMENT_LIMIT, code, md
from amlctl.render.review import Marker, find_marker

BOT = "github-actions[bot]"
OUTDATED = "<!-- amlctl:outdated -->"


@dataclass(frozen=True)
class Posted:
    """What posting a plan did: the comment now showing it, whether it was new, and the
    comments marked outdated."""

    comment: Comment
    created: bool
    outdated: tuple[int, ...]


def plan_comments(api: GitHubApi, pr: int, manifest: str, author: str = BOT) -> list[Comment]:
    """The live (not outdated) comments of `author` showing a plan of `manifest`, oldest first."""
    found = []
    for comment in api.comments(pr):
        marker = find_marker(comment.body)
        if comment.author == author and marker is not None and marker.manifest == manifest:
            found.append(comment)
    return found


def previous_digest(comments: Sequence[Comment]) -> str | None:
    """The digest the newest comment shows, the one a new push replaces."""
    marker = find_marker(comments[-1].body) if comments else None
    return marker.digest if marker else None


def post_plan(
    api: GitHubApi, pr: int, manifest: str, body: str, existing: Sequence[Comment]
) -> Posted:
    """Update the newest of `existing` in place with `body` (or create the first), and mark
    every older one outdated, so exactly one live comment shows this manifest's plan."""
    if not existing:
        return Posted(api.create_comment(pr, body), True, ())
    *older, newest = existing
    comment = api.update_comment(newest.id, body)
    for stale in older:
        api.update_comment(stale.id, outdated_body(stale, find_marker(body)))
    return Posted(comment, False, tuple(stale.id for stale in older))


def outdated_body(stale: Comment, current: Marker | None) -> str:
    """A short note in place of an older plan comment; its marker goes, so it is never found
    again as the plan to apply."""
    old = find_marker(stale.body)
    was = f" {code(old.digest, 80)}" if old else ""
    now = f" The current plan is {code(current.digest, 80)}." if current else ""
    return (
        f"> [!NOTE]\n> **Outdated:** this comment showed the plan{was} of "
        f"{code(old.manifest if old else '?')}; a newer comment shows the current one.{now}\n\n"
        f"{OUTDATED}\n"
    )


def approved_plan(api: GitHubApi, pr: int, manifest: str, author: str = BOT) -> Marker:
    """The marker of the pull request's live comment for `manifest`: the digest reviewers saw
    and the run holding that plan. Refused when there is none, or several that disagree
    (which one was reviewed would be a guess)."""
    live = plan_comments(api, pr, manifest, author)
    if not live:
        raise ApplyRefused(
            f"pull request #{pr} has no plan comment by {author} for {manifest}: nothing was "
            "reviewed, so nothing is applied"
        )
    markers = {m for c in live if (m := find_marker(c.body)) is not None}
    if len(markers) != 1:
        raise ApplyRefused(
            f"pull request #{pr} shows {len(markers)} different plans for {manifest}; "
            "plan again so one comment shows the plan to apply"
        )
    return markers.pop()


def check_approved(plan_digest: str, approved: str, plan_path: str) -> None:
    """Refuse a plan file that is not exactly the plan reviewers saw."""
    if plan_digest != approved:
        raise ApplyRefused(
            f"{plan_path}: its digest {plan_digest} is not the reviewed plan's {approved}; "
            "nothing was applied (plan again, and review the new comment)"
        )


def receipt_body(receipt: Mapping[str, Any], receipt_path: str) -> str:
    """A short comment of what apply did: outcome counts, complete or not, where the receipt is."""
    plan = receipt.get("plan") or {}
    summary: Mapping[str, int] = receipt.get("summary") or {}
    done = ", ".join(f"{n} {md(kind)}" for kind, n in summary.items() if n) or "nothing to do"
    complete = bool(receipt.get("complete"))
    lines = [
        f"## amlctl apply: {code(plan.get('name', '?'))}",
        "",
        ("> [!NOTE]\n> Every planned API change was done." if complete else
         "> [!WARNING]\n> **Not every planned change was done**: see the receipt, then re-run "
         "apply (it resumes) or plan again."),
        "",
        f"- **Plan:** {code(plan.get('path', '?'))} ({code(plan.get('digest', '?'), 80)})",
        f"- **Results:** {done}",
        f"- **Manual steps owed:** {len(receipt.get('manual') or [])} "
        "(no API: do them by hand, then `amlctl verify --manual-done`)",
        f"- **Applied:** {code(receipt.get('started', '?'))} to "
        f"{code(receipt.get('finished', '?'))}",
        f"- **Receipt:** {code(receipt_path)} (in this run's artifacts)",
        "",
        f"<!-- amlctl:receipt digest={_safe_digest(plan.get('digest'))} -->",
        "",
    ]
    return "\n".join(lines)[: COMMENT_LIMIT - 1]


def _safe_digest(value: object) -> str:
    """A digest fit for an HTML comment: `sha256:<hex>`, else `invalid`."""
    text = str(value)
    hex_part = text.removeprefix("sha256:")
    ok = text.startswith("sha256:") and len(hex_part) == 64 and all(
        c in "0123456789abcdef" for c in hex_part)
    return text if ok else "invalid"
