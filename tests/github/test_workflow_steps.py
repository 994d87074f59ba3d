"""The pull-request workflow, its steps run as scripts against the emulator and a fake GitHub.

examples/github/amlctl-plan.yml lists the changed manifests, validates and plans one, and posts
its comment (marker, approvers, due date); amlctl-apply.yml finds the reviewed plan by the
comment's marker, refuses a plan file whose digest differs, applies the reviewed one and posts
the receipt. The `uses:` steps (checkout, Azure login, artifacts) are GitHub's; the test stands
in for the artifact store with a dict.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from amlctl.emulator.commands import embedded
from amlctl.render.review import find_marker
from tests.github.fake_github import fake_github
from tests.github.workflow_runner import base_environment, run_step, workflow

ROOT = Path(__file__).resolve().parents[2]
REPO, PR, RUN = "contoso/gdpr", "7", "4242"
TODAY = int(datetime(2026, 12, 2, tzinfo=UTC).timestamp())  # the request is due 2026-12-20


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )
    return done.stdout.strip()


def _pull_request(repo: Path) -> tuple[str, str]:
    """A repository whose pull request adds one manifest: (base sha, head sha)."""
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("requests\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "manifests").mkdir()
    shutil.copy(ROOT / "plans/examples/dsr-export-erase.yaml", repo / "manifests/dsr.yaml")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "DSR-2026-0042")
    return base, _git(repo, "rev-parse", "HEAD")


def test_plan_comment_then_apply_only_the_reviewed_plan(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    base, head = _pull_request(repo)
    artifacts: dict[tuple[str, str], bytes] = {}
    with embedded(None) as origin, fake_github() as github:
        env = base_environment(
            AMLCTL_ENDPOINT=origin, GITHUB_API_URL=github.url, GITHUB_REPOSITORY=REPO,
            GITHUB_RUN_ID=RUN, SOURCE_DATE_EPOCH=str(TODAY),
        )
        values = {
            "github.event.pull_request.base.sha": base,
            "github.event.pull_request.head.sha": head,
            "github.event.pull_request.number": PR,
            "github.token": "bot-token",
            "vars.AMLCTL_APPROVERS": "dpo-team contoso/privacy",
        }
        planning = workflow("amlctl-plan.yml")

        changed = run_step(planning, "changed", "changed", values, repo, env)
        assert changed.code == 0, changed.stderr
        assert json.loads(changed.outputs["manifests"]) == ["manifests/dsr.yaml"]
        values["matrix.manifest"] = "manifests/dsr.yaml"

        validated = run_step(planning, "plan", "validate", values, repo, env)
        assert validated.code == 0 and "valid" in validated.stdout, validated.stderr

        planned = run_step(planning, "plan", "plan", values, repo, env)
        assert planned.code == 0, planned.stderr
        assert planned.outputs == {"stem": "dsr", "file": "plans/dsr.plan.json", "changes": "true"}
        plan_bytes = (repo / "plans/dsr.plan.json").read_bytes()
        artifacts[(RUN, "amlctl-plan-dsr")] = plan_bytes  # upload-artifact
        digest = json.loads(plan_bytes)["digest"]
        values["steps.plan.outputs.file"] = planned.outputs["file"]

        commented = run_step(planning, "plan", "comment", values, repo, env)
        assert commented.code == 0, commented.stderr
        [body] = github.bodies(REPO, int(PR))
        marker = find_marker(body)
        assert marker is not None
        assert (marker.digest, marker.manifest, marker.run_id) == (
            digest, "manifests/dsr.yaml", RUN)
        assert "@dpo-team, @contoso/privacy must approve" in body
        assert "This plan deletes data" in body and "**Due:** `2026-12-20`, in 18 days" in body
        assert "(churn-model)" in body and "&#" not in body

        # The merge: the apply workflow starts from a fresh checkout of the merge commit.
        merged = tmp_path / "merged"
        _git(tmp_path, "clone", "-q", str(repo), str(merged))
        applying = workflow("amlctl-apply.yml")
        approved = run_step(applying, "apply", "approved", values, merged, env)
        assert approved.code == 0, approved.stderr
        assert approved.outputs == {"digest": digest, "run": RUN, "artifact": "amlctl-plan-dsr",
                                    "plan": "plans/dsr.plan.json"}
        for key, value in approved.outputs.items():
            values[f"steps.approved.outputs.{key}"] = value

        # A plan file that is not the reviewed one (planned again later) is refused.
        other_env = {**env, "SOURCE_DATE_EPOCH": str(TODAY + 60)}
        subprocess.run(["amlctl", "plan", "manifests/dsr.yaml"], cwd=merged, env=other_env,
                       capture_output=True, check=True)
        refused = run_step(applying, "apply", "apply", values, merged, env)
        assert refused.code == 1
        assert f"is not the expected {digest}; nothing was applied" in refused.stderr
        assert not list((merged / "plans").glob("*receipt*"))

        # download-artifact: exactly the file the reviewed run kept.
        (merged / "plans/dsr.plan.json").write_bytes(artifacts[(RUN, approved.outputs["artifact"])])
        applied = run_step(applying, "apply", "apply", values, merged, env)
        assert applied.code == 0, applied.stderr
        assert "Apply complete" in applied.stdout

        receipt = run_step(applying, "apply", "receipt", values, merged, env)
        assert receipt.code == 0, receipt.stderr
        last = github.bodies(REPO, int(PR))[-1]
        assert "## amlctl apply: `dsr-2026-0042`" in last
        assert "Every planned API change was done" in last
        assert f"<!-- amlctl:receipt digest={digest} -->" in last
