"""Property-based tests over manifests and catalogs (hypothesis): whatever the input, amlctl
exits 0 or with a clean error (exit 1, no traceback, no crash log), and a plan never deletes an
item that the manifest's words do not select.

The fast subset tries a few dozen inputs; bench/torture.py sets TORTURE_EXAMPLES to try
thousands. The delete oracle below reads the manifest literally, apart from the planner: an
item is deletable only when some delete selector of its kind selects it by `all`, its `ids`, a
glob on its name, and `where` conditions on the fields it really has.
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import re
from collections.abc import Mapping
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amlctl.cli import main
from amlctl.emulator import open_store
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE
from amlctl.emulator.store import workspace_key

EXAMPLES = int(os.environ.get("TORTURE_EXAMPLES", "25"))
CATALOG = Path(__file__).resolve().parents[2] / "amlctl" / "catalogs" / "azureml-2019-11-01.yaml"
DELETABLE = ("model", "service", "image", "asset")
KINDS = (*DELETABLE, "run", "experiment", "compute", "datastore")
VALUES = st.one_of(st.sampled_from(
    ["churn-*", "*", "churn-model", "ScikitLearn", "churn-svc", "Healthy", "[", ".*", ""]),
    st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=8))
IDS = ("churn-model:1", "churn-svc", "churn-image:1", "no-such-id", "../x", "*")


def _mostly(valid: tuple[Any, ...], broken: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """A valid value about nine times in ten, else a broken one: most manifests must get past
    validation for the delete property to be tried at all."""
    return st.sampled_from(valid * max(1, 9 * len(broken) // len(valid)) + broken)


@st.composite
def _condition(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(_mostly(FIELDS, ("runIdd", "imageid", "", "name.")))
    test = draw(_mostly(("equals", "glob", "in", "absent", "regex", "before"), ("eq",)))
    value = draw(st.lists(VALUES, max_size=3) if test == "in" else VALUES)
    if test == "absent":
        value = draw(_mostly((True, False), ("yes",)))
    elif test == "before":
        value = draw(_mostly(("2024-03-01", "2030-01-01T00:00:00Z"), ("soon", 3)))
    return {path: {test: value}}


@st.composite
def _selector(draw: st.DrawFn, kinds: tuple[str, ...], subject: bool) -> dict[str, Any]:
    selector: dict[str, Any] = {"kind": draw(_mostly(kinds, ("mdoel",)))}
    criteria = ["ids", "name", "where", "where", "all", *(["subject"] if subject else [])]
    for criterion in draw(st.lists(st.sampled_from(criteria), min_size=1, max_size=2,
                                   unique=True)):
        if criterion == "ids":
            selector["ids"] = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=3))
        elif criterion == "name":
            selector["name"] = draw(_mostly(("churn-*", "*", "fraud*"), ("[", "")))
        elif criterion == "where":
            selector["where"] = draw(_condition())
        else:
            selector[criterion] = True
    if draw(_mostly((False,), (True,))):
        selector["allx"] = True  # a misspelt key
    return selector


# Fields every deletable kind has come first and most often: a path that no item of the kind has
# is an error, so kind-specific ones would mostly end the example in validation.
FIELDS = ("name",) * 6 + ("id",) * 4 + ("runId", "imageId", "framework", "modelIds",
                                         "createdTime", "createdBy.userObjectId")


MANIFESTS = st.fixed_dictionaries(
    {
        "version": _mostly((1,), ("1",)),
        "name": _mostly(("prop",), ("", "x" * 70)),
        "workspaces": st.just([{"subscriptionId": SUBSCRIPTION, "resourceGroup": RESOURCE_GROUP,
                                "workspace": WORKSPACE, "location": "eastus"}]),
        "delete": st.fixed_dictionaries({"select": st.lists(
            _selector(DELETABLE, subject=False), min_size=1, max_size=3)}),
    },
    optional={
        "request": st.just({"id": "DSR-PROP-1", "received": "2026-11-20",
                            "subject": {"userObjectId": "8b0c2f4e-0000-4000-8000-000000000042"}}),
        "export": st.fixed_dictionaries({"to": st.just("exports/prop"), "select": st.lists(
            _selector(KINDS, subject=True), min_size=1, max_size=3)}),
        "limits": st.fixed_dictionaries({"maxDeletes": st.integers(-1, 100)}),
    },
)

# Raw YAML that has broken parsers before: deep nesting, recursive aliases, huge integers, tags.
HOSTILE_YAML = st.sampled_from([
    "version: 1\nname: " + "[" * 5000 + "]" * 5000 + "\n",
    "a: &a [*a]\n",
    "a: &a\n  b: *a\nversion: 1\n",
    "version: " + "9" * 5000 + "\n",
    "version: !!python/name:os.system 1\n",
    "version: !!python/object/apply:os.system ['true']\n",
    "x: !!binary AAAA\n",
    "\ufeffversion: 1\n\x00\n",
    "- - - - -\n",
    "version: 1\nversion: 1\n",
    "",
])


def _run(*args: str) -> tuple[int, str]:
    """Exit code, and everything printed (diagnostics go to stdout, errors to stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def _assert_clean(code: int, err: str) -> None:
    assert code in (0, 1), (code, err)
    for crash in ("Traceback", "amlctl-crash-", "internal error"):
        assert crash not in err, err


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795000000")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(MANIFESTS)
def test_any_manifest_plans_or_fails_cleanly_and_never_deletes_more_than_it_says(
    manifest: dict[str, Any],
) -> None:
    path = Path("m.yaml")
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    out = Path("plans/m.plan.json")
    out.unlink(missing_ok=True)
    code, err = _run("plan", str(path), "-o", str(out), "--emulator", "--format", "json")
    _assert_clean(code, err)
    if code == 0:
        wider = _wider_than_said(manifest, json.loads(out.read_text()))
        assert wider == [], wider


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(HOSTILE_YAML)
def test_hostile_yaml_is_a_clean_error(text: str) -> None:
    Path("h.yaml").write_text(text, encoding="utf-8", errors="surrogateescape")
    code, err = _run("validate", "h.yaml")
    _assert_clean(code, err)
    assert code == 1 and "h.yaml" in err


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_a_mutated_catalog_lists_or_fails_cleanly(data: st.DataObject) -> None:
    doc = yaml.safe_load(CATALOG.read_text())
    _mutate(doc, data)
    Path("c.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    code, err = _run("catalog", "list", "--catalog", "c.yaml", "--format", "json")
    _assert_clean(code, err)


def _mutate(node: Any, data: st.DataObject, depth: int = 0) -> None:
    """Replace, drop or retype one value somewhere in the catalog document."""
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    if not keys:
        return
    key = data.draw(st.sampled_from(keys))
    child = node[key]
    if isinstance(child, dict | list) and child and depth < 6 and data.draw(st.booleans()):
        _mutate(child, data, depth + 1)
        return
    choice = data.draw(st.sampled_from(["drop", "none", "int", "text", "list", "template"]))
    if choice == "drop" and isinstance(node, dict):
        del node[key]
    else:
        node[key] = {"none": None, "int": 10**30, "text": "\x1b[2J", "list": [],
                     "template": "https://{host}/../{x}", "drop": None}[choice]


# -- the oracle ---------------------------------------------------------------------------------


def _wider_than_said(manifest: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """Planned deletes that no delete selector of the manifest selects, read literally."""
    selectors = (manifest.get("delete") or {}).get("select") or []
    store = open_store(Path(os.environ["AMLCTL_EMULATOR_DB"]), "demo")
    try:
        wider = []
        for change in plan["changes"]:
            if change["action"] != "delete" or change["kind"] == "workspace":
                continue
            key = workspace_key(SUBSCRIPTION, RESOURCE_GROUP, change["workspace"])
            item = store.get(key, change["kind"], change["id"])
            doc = item.doc if item is not None else {}
            if not any(_says(s, change["kind"], change["id"], doc) for s in selectors):
                wider.append(f"{change['address']} (no selector of the manifest says it)")
        return wider
    finally:
        store.close()


def _says(selector: Mapping[str, Any], kind: str, item_id: str, doc: Mapping[str, Any]) -> bool:
    if selector.get("kind") != kind:
        return False
    if selector.get("all") is True:
        return True
    if "ids" in selector and item_id not in selector["ids"]:
        return False
    if "name" in selector and not fnmatch.fnmatchcase(str(doc.get("name", item_id)),
                                                       str(selector["name"])):
        return False
    for path, tests in (selector.get("where") or {}).items():
        if not all(_test(doc, path, test, value) for test, value in tests.items()):
            return False
    return any(key in selector for key in ("ids", "name", "where"))


def _test(doc: Mapping[str, Any], path: str, test: str, value: Any) -> bool:
    present, found = _field(doc, path)
    if test == "absent":
        return present is not bool(value)
    if not present:
        return False
    if test == "equals":
        return bool(found == value)
    if test == "in":
        return isinstance(value, list) and found in value
    if test == "glob":
        return isinstance(found, str) and fnmatch.fnmatchcase(found, str(value))
    if test == "regex":
        try:
            return isinstance(found, str) and re.fullmatch(str(value), found) is not None
        except re.error:
            return False
    return True  # before/after: dates; not widened by a typo, left to the planner's tests


def _field(doc: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def test_the_oracle_flags_a_delete_the_manifest_does_not_say() -> None:
    """The property above is only as good as its oracle: it must see a widened delete."""
    change = {"action": "delete", "kind": "model", "workspace": WORKSPACE,
              "id": "churn-model:1", "address": "delete:demo/model/churn-model:1"}
    plan = {"changes": [change]}

    def said(selector: dict[str, Any]) -> list[str]:
        return _wider_than_said({"delete": {"select": [{"kind": "model", **selector}]}}, plan)

    assert said({"ids": ["churn-model:1"]}) == [] and said({"all": True}) == []
    assert said({"name": "churn-*"}) == []
    assert said({"ids": ["other:1"]}) != []
    assert said({"where": {"runIdd": {"equals": None}}}) != []  # defect 1: a misspelt path
    assert said({"where": {"name": {"absent": True}}}) != []
