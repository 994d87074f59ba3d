"""`amlctl github ...`: the steps of the pull-request workflow (examples/github/), one command each.

    comment PLAN    post or update the manifest's plan comment (exit 1 when the request is overdue)
    approved MANIFEST  print the reviewed plan's digest, run and artifact (for $GITHUB_OUTPUT)
    receipt PLAN    post what apply did, from the plan's receipt

Each returns an exit code; the token comes from GITHUB_TOKEN (or GH_TOKEN) and goes to GitHub only.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amlctl.errors import EXIT_ERROR, EXIT_OK, UsageError
from amlctl.github.api import DEFAULT_API_URL, GitHubApi
from amlctl.github.pullrequest import (
    BOT,
    approved_plan,
    plan_comments,
    post_plan,
    previous_digest,
    receipt_body,
)
from amlctl.render.markdown import render_markdown
from amlctl.render.review import Review, approvers, deadline

ARTIFACT_PREFIX = "amlctl-plan-"  # the plan workflow uploads plans/<stem>.plan.json as this


@dataclass(frozen=True)
class PullRequest:
    """Where the comments go: repository, number, API, and whose comments count."""

    repo: str
    number: int
    api_url: str = DEFAULT_API_URL
    author: str = BOT

    def api(self, environ: Mapping[str, str]) -> GitHubApi:
        token = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN")
        if not token:
            raise UsageError("set GITHUB_TOKEN (the workflow's token) to talk to GitHub")
        return GitHubApi(self.repo, token, base_url=self.api_url)


def pull_request(
    repo: str | None, number: int, api_url: str | None, author: str | None,
    environ: Mapping[str, str],
) -> PullRequest:
    """The pull request from options, else what GitHub Actions sets in the environment."""
    chosen = repo or environ.get("GITHUB_REPOSITORY")
    if not chosen:
        raise UsageError("name the repository with --repo OWNER/NAME (or GITHUB_REPOSITORY)")
    url = api_url or environ.get("GITHUB_API_URL") or DEFAULT_API_URL
    return PullRequest(chosen, number, url, author or BOT)


def comment(
    plan_file: Path, pr: PullRequest | None, approver: Sequence[str],
    environ: Mapping[str, str],
) -> int:
    """Post the plan's comment (or, with `pr` None, print it); 1 when its request is overdue."""
    from amlctl.apply.dossier import today

    doc = _plan_doc(plan_file)
    handles = approvers(approver)
    manifest = str(doc["manifest"]["path"])
    if pr is None:
        body = render_markdown(doc, Review(today(environ), handles, None,
                                           environ.get("GITHUB_RUN_ID")))
        sys.stdout.write(body)
    else:
        api = pr.api(environ)
        existing = plan_comments(api, pr.number, manifest, pr.author)
        run_id = environ.get("GITHUB_RUN_ID")
        review = Review(today(environ), handles, previous_digest(existing), run_id)
        posted = post_plan(api, pr.number, manifest, render_markdown(doc, review), existing)
        verb = "Created" if posted.created else "Updated"
        print(f"{verb} comment {posted.comment.id} on #{pr.number} for {manifest}")
        for stale in posted.outdated:
            print(f"Marked comment {stale} outdated")
    return _deadline_exit(doc, today(environ))


def _deadline_exit(doc: Mapping[str, Any], day: Any) -> int:
    due = (doc.get("request") or {}).get("due")
    state = deadline(due, day)
    if state and state[0] == "overdue":
        print(f"error: request {doc['request']['id']} was due {due}, {state[1]} day(s) ago",
              file=sys.stderr)
        return EXIT_ERROR
    if state and state[0] in ("soon", "today"):
        print(f"warning: request {doc['request']['id']} is due {due}", file=sys.stderr)
    return EXIT_OK


def approved(manifest: Path, pr: PullRequest, environ: Mapping[str, str]) -> int:
    """Print, as `key=value` lines for $GITHUB_OUTPUT, the plan the pull request's comment for
    `manifest` showed: `digest`, `run` (the plan run), `artifact` and `plan` (its file).
    Apply then takes exactly that file, with `--expect-digest` refusing any other."""
    marker = approved_plan(pr.api(environ), pr.number, manifest.as_posix(), pr.author)
    if marker.run_id is None:
        raise UsageError(
            f"the plan comment for {manifest} names no workflow run (it was posted outside "
            "GitHub Actions): download the plan yourself and apply it with --expect-digest "
            f"{marker.digest}"
        )
    stem = manifest.stem
    print(f"digest={marker.digest}")
    print(f"run={marker.run_id}")
    print(f"artifact={ARTIFACT_PREFIX}{stem}")
    print(f"plan=plans/{stem}.plan.json")
    return EXIT_OK


def receipt(plan_file: Path, pr: PullRequest, environ: Mapping[str, str]) -> int:
    """Post what apply did to the pull request, from the receipt beside the plan."""
    from amlctl.apply import receipt as receipts

    doc = _plan_doc(plan_file)
    found = receipts.load(plan_file, str(doc["digest"]))
    if found is None:
        raise UsageError(f"{plan_file}: no receipt next to it; apply the plan first")
    path = receipts.receipt_paths(plan_file, str(doc["digest"]))[0].as_posix()
    posted = pr.api(environ).create_comment(pr.number, receipt_body(found, path))
    print(f"Posted the receipt as comment {posted.id} on #{pr.number}")
    return EXIT_OK


def _plan_doc(plan_file: Path) -> dict[str, Any]:
    from amlctl.plan.serialize import load_doc

    return load_doc(plan_file)
