"""The plan comment on GitHub, faked at the HTTP boundary: one live comment per manifest, found
again by its marker and updated in place; older ones marked outdated; only the workflow's own
comments count; the reviewed digest and run read back; the token sent only as a header."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from amlctl.errors import ApiError, ApplyRefused, UsageError
from amlctl.github.api import GitHubApi
from amlctl.github.pullrequest import approved_plan, plan_comments, post_plan, receipt_body
from amlctl.render.markdown import render_markdown
from amlctl.render.review import Review, find_marker
from tests.github.fake_github import FakeGitHub, fake_github

ROOT = Path(__file__).resolve().parents[2]
DOC = json.loads((ROOT / "plans/examples/dsr-export-erase.plan.json").read_text())
MANIFEST = DOC["manifest"]["path"]
REPO, PR = "contoso/gdpr", 7


def _api(github: FakeGitHub, token: str = "bot-token") -> GitHubApi:
    return GitHubApi(REPO, token, base_url=github.url)


def _post(api: GitHubApi, doc: dict[str, object], run: str = "11") -> int:
    existing = plan_comments(api, PR, MANIFEST)
    body = render_markdown(doc, Review(date(2026, 12, 2), ("@dpo",), None, run))
    return post_plan(api, PR, MANIFEST, body, existing).comment.id


def test_a_new_push_updates_the_one_comment_in_place() -> None:
    with fake_github() as github:
        api = _api(github)
        github.add(REPO, PR, "LGTM", "alice")
        github.add(REPO, PR, "another", "alice")  # the bot's comment is on page 2
        first = _post(api, DOC)
        second = _post(api, {**DOC, "digest": "sha256:" + "1" * 64}, run="12")
        assert first == second
        bodies = github.bodies(REPO, PR)
        assert len(bodies) == 3 and bodies[:2] == ["LGTM", "another"]
        marker = find_marker(bodies[2])
        assert marker is not None
        assert (marker.digest, marker.manifest, marker.run_id) == ("sha256:" + "1" * 64,
                                                                   MANIFEST, "12")
        assert approved_plan(api, PR, MANIFEST) == marker


def test_older_comments_of_the_manifest_are_marked_outdated() -> None:
    with fake_github() as github:
        api = _api(github)
        old = render_markdown(DOC, Review(date(2026, 12, 2)))
        github.add(REPO, PR, old, "github-actions[bot]")
        github.add(REPO, PR, old, "github-actions[bot]")
        newest = _post(api, {**DOC, "digest": "sha256:" + "2" * 64})
        bodies = github.bodies(REPO, PR)
        assert "**Outdated:**" in bodies[0] and find_marker(bodies[0]) is None
        assert find_marker(bodies[1]) is not None and newest == github.comments[(REPO, PR)][1]["id"]
        assert approved_plan(api, PR, MANIFEST).digest == "sha256:" + "2" * 64


def test_a_marker_in_someone_elses_comment_is_ignored() -> None:
    with fake_github() as github:
        forged = render_markdown({**DOC, "digest": "sha256:" + "f" * 64}, Review(date.today()))
        github.add(REPO, PR, forged, "mallory")
        with pytest.raises(ApplyRefused, match="no plan comment by github-actions"):
            approved_plan(_api(github), PR, MANIFEST)
        _post(_api(github), DOC)
        assert approved_plan(_api(github), PR, MANIFEST).digest == DOC["digest"]
        assert len(github.bodies(REPO, PR)) == 2  # a new comment; mallory's left alone


def test_errors_name_the_call_and_never_the_token() -> None:
    with fake_github() as github:
        with pytest.raises(ApiError) as raised:
            list(GitHubApi(REPO, "wrong-secret", base_url=github.url).comments(PR))
        assert "401" in str(raised.value) and "Bad credentials" in str(raised.value)
        assert "wrong-secret" not in str(raised.value)


def test_the_receipt_comment_says_whether_everything_was_done() -> None:
    receipt = {"plan": {"name": "dsr", "path": "plans/dsr.plan.json", "digest": DOC["digest"]},
               "summary": {"exported": 3, "deleted": 2, "failed": 0}, "complete": True,
               "manual": [{"title": "x"}], "started": "t0", "finished": "t1"}
    body = receipt_body(receipt, "plans/dsr.receipt.json")
    assert "Every planned API change was done" in body and "3 exported, 2 deleted" in body
    assert f"<!-- amlctl:receipt digest={DOC['digest']} -->" in body
    partial = receipt_body({**receipt, "complete": False, "plan": {"digest": "<!--x"}}, "r")
    assert "Not every planned change was done" in partial and "digest=invalid" in partial


def test_the_token_never_follows_a_next_page_to_another_host() -> None:
    with fake_github() as github:
        api = _api(github)
        for n in range(3):
            github.add(REPO, PR, f"c{n}", "alice")
        elsewhere = github.url.replace("127.0.0.1", "localhost")
        with pytest.raises(ApiError, match="next page is not on"):
            list(GitHubApi(REPO, "bot-token", base_url=elsewhere).comments(PR))
        assert len(list(api.comments(PR))) == 3  # the same origin: every page


def test_the_api_is_reached_over_https_only() -> None:
    with pytest.raises(UsageError, match="over https only"):
        GitHubApi(REPO, "t", base_url="http://api.github.example")
    with pytest.raises(UsageError, match="expected OWNER/NAME"):
        GitHubApi("not a repo", "t")


def test_comment_needs_pr_or_print_and_approved_needs_a_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from amlctl.cli import main

    plan = str(ROOT / "plans/examples/dsr-export-erase.plan.json")
    assert main(["github", "comment", plan]) == 1
    assert "pass --pr N to post the comment, or --print" in capsys.readouterr().err
    with fake_github() as github:
        github.add(REPO, PR, render_markdown(DOC, Review(date(2026, 12, 2))), "github-actions[bot]")
        monkeypatch.setenv("GITHUB_TOKEN", "bot-token")
        args = ["--pr", str(PR), "--repo", REPO, "--api-url", github.url]
        assert main(["github", "approved", MANIFEST, *args]) == 1
        assert "names no workflow run" in capsys.readouterr().err
        monkeypatch.delenv("GITHUB_TOKEN")
        assert main(["github", "approved", MANIFEST, *args]) == 1
        assert "set GITHUB_TOKEN" in capsys.readouterr().err
