"""The endpoint catalogs: the article's 32 calls per edition, `catalog list`, safe URL expansion.

`data/article_calls.json` holds, per edition, the {method, url} of every REST call Microsoft's
article "Export or delete your Machine Learning service workspace data" names, copied once from
the article as data (the tests never read the article itself).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests

from amlctl.catalog import (
    BUILTIN_CATALOGS,
    DEFAULT_CATALOG,
    SCOPE_VARS,
    Catalog,
    Operation,
    expand,
    host_allowed,
    load_catalog,
)
from amlctl.cli import main
from amlctl.errors import CatalogError, ExpandError

HERE = Path(__file__).resolve().parent
CATALOG_FIXTURES = HERE / "catalogs"
ARTICLE = json.loads((HERE / "data" / "article_calls.json").read_text(encoding="utf-8"))
EDITIONS = {"azureml-2019-11-01": "2019-11-01", "azureml-2018-03-01-preview": "2018-03-01-preview"}
ARTICLE_CATALOGS = tuple(EDITIONS)  # the built-in catalogs of the article's two editions

BENIGN: dict[str, str] = {
    "subscriptionId": "6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab",
    "resourceGroupName": "demo-rg",
    "workspaceName": "demo-ws",
    "location": "eastus",
}
HOSTILE = [
    "",
    ".",
    "..",
    "...",
    "/",
    "\\",
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    "..%2f",
    "%2f",
    "..\\",
    "?x=1",
    "#frag",
    "a/../b",
    "../../../workspaces",
    "//evil.com",
    "\x00",
    "\n",
    "\r\n",
    "\t",
    "x\x7f",
    "x" * 300,
    "\u2024\u2024",  # one dot leader, twice
    "\u2025",  # two dot leader
    "\uff0e\uff0e",  # fullwidth full stops
    "\u3002",  # ideographic full stop
    "\uff45\uff56\uff49\uff4c",  # fullwidth "evil"
    " ",
    "a b",
    " .. ",
    "@",
    ":",
    "user@evil.com",
    "evil.com:443",
    "evil.com#",
    "x?api-version=1",
    "x&api-version=1",
    ";",
    "%",
    "%00",
    "\u202e",  # right-to-left override
]


def _catalog(name: str) -> Catalog:
    return load_catalog(name)


def _variables(operation: Operation) -> list[str]:
    """The template variables of an operation's URL, in order."""
    return re.findall(r"\{([A-Za-z][A-Za-z0-9_]*)\}", operation.url)


def _benign_values(operation: Operation) -> dict[str, str]:
    values = dict(BENIGN)
    for name in _variables(operation):
        values.setdefault(name, f"item-{name.lower()}")
    return values


def _path_segments(url: str) -> list[str]:
    return urlsplit(url).path.split("/")


def _is_variable(segment: str) -> bool:
    return re.fullmatch(r"\{[A-Za-z][A-Za-z0-9_]*\}", segment) is not None


# --- loading and the article's calls ------------------------------------------------------------


@pytest.mark.parametrize("name", ARTICLE_CATALOGS)
def test_builtin_catalog_loads(name: str) -> None:
    catalog = _catalog(name)
    assert catalog.name == name
    assert catalog.source == name
    assert set(catalog.kinds) == {
        "workspace",
        "compute",
        "experiment",
        "run",
        "metric",
        "artifact",
        "notification_task",
        "datastore",
        "model",
        "asset",
        "image",
        "service",
        "pipeline_experiment",
        "pipeline_graph",
        "pipeline_module",
        "pipeline_template",
        "pipeline_datasource",
    }
    assert [kind.name for kind in catalog.kinds.values() if kind.scope] == ["workspace"]
    assert catalog.manual, "the designer's manual steps are catalog entries"
    assert len(list(catalog.operations())) == 32
    for operation in catalog.operations():
        if operation.name == "delete":
            assert operation.method == "DELETE" and operation.statuses
        else:
            assert operation.method == "GET"
        if operation.name == "list":
            assert operation.paging is not None


def test_default_catalog_is_the_2019_edition() -> None:
    assert DEFAULT_CATALOG == "azureml-2019-11-01"
    assert load_catalog().name == DEFAULT_CATALOG


def test_article_data_has_32_distinct_calls_per_edition() -> None:
    assert set(ARTICLE["editions"]) == set(EDITIONS.values())
    for calls in ARTICLE["editions"].values():
        keys = {(call["method"], call["url"]) for call in calls}
        assert len(calls) == len(keys) == 32
        assert sum(call["method"] == "DELETE" for call in calls) == 5


@pytest.mark.parametrize(("name", "edition"), EDITIONS.items())
def test_every_article_call_is_in_its_catalog(name: str, edition: str) -> None:
    catalog = _catalog(name)
    by_text: dict[tuple[str, str], Operation] = {}
    for operation in catalog.operations():
        by_text[(operation.method, operation.url)] = operation
        if operation.doc_url:
            by_text[(operation.method, operation.doc_url)] = operation
    article = [(call["method"], call["url"]) for call in ARTICLE["editions"][edition]]
    missing = [call for call in article if call not in by_text]
    assert missing == [], f"{len(article) - len(missing)} of {len(article)} article calls found"
    # one catalog operation per article call, and no operation the article does not name
    matched = {id(by_text[call]) for call in article}
    assert len(matched) == 32 == len(list(catalog.operations()))


@pytest.mark.parametrize("name", ARTICLE_CATALOGS)
def test_every_deliberate_difference_has_a_note(name: str) -> None:
    differing = [op for op in _catalog(name).operations() if op.doc_url]
    assert differing
    for operation in differing:
        assert operation.doc_url != operation.url
        assert operation.note and operation.note.strip(), f"{operation.kind}.{operation.name}"


@pytest.mark.parametrize("name", ARTICLE_CATALOGS)
def test_catalog_urls_carry_the_two_defect_fixes(name: str) -> None:
    catalog = _catalog(name)
    for operation in catalog.operations():
        assert "/resourceGroup/" not in operation.url
        assert "}tasks" not in operation.url
    compute = catalog.kind("compute").op("get")
    assert compute.doc_url is not None and "/resourceGroup/" in compute.doc_url
    task = catalog.kind("notification_task").op("get")
    assert task.doc_url is not None and "{workspaceName}tasks/" in task.doc_url


# --- amlctl catalog list ----------------------------------------------------------------------


def _catalog_list(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["catalog", "list", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", BUILTIN_CATALOGS)
def test_catalog_list_json(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _catalog_list(capsys, "--catalog", name, "--format", "json")
    assert (code, err) == (0, "")
    rows: list[dict[str, Any]] = json.loads(out)
    operations = list(_catalog(name).operations())
    assert len(rows) == len(operations)
    assert len(rows) == 32 or name not in ARTICLE_CATALOGS
    for row, operation in zip(rows, operations, strict=True):
        assert row["kind"] == operation.kind
        assert row["operation"] == operation.name
        assert row["method"] == operation.method
        assert row["url"] == operation.url
        if operation.doc_url:
            assert row["doc_url"] == operation.doc_url
            assert row["note"] == operation.note
        else:
            assert "doc_url" not in row and "note" not in row
        assert set(row) <= {"kind", "operation", "method", "url", "paging", "doc_url", "note"}


def test_catalog_list_defaults_to_the_2019_edition(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _catalog_list(capsys, "--format", "json")
    assert code == 0
    assert all("2018-03-01-preview" not in row["url"] for row in json.loads(out))


@pytest.mark.parametrize("name", BUILTIN_CATALOGS)
def test_catalog_list_table(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _catalog_list(capsys, "--catalog", name)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{name}: ")
    catalog = _catalog(name)
    for operation in catalog.operations():
        row = next(line for line in lines if line.split()[:2] == [operation.kind, operation.name])
        assert row.split()[2:4] == [operation.method, operation.url]
        assert row.endswith("*") == (operation.doc_url is not None)
    # the footer explains the marks, where there are any (the current API has no article)
    differs = any(op.doc_url for op in catalog.operations())
    assert ("--format json" in lines[-1]) == differs


def test_catalog_list_of_a_user_catalog_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(CATALOG_FIXTURES)
    code, out, _ = _catalog_list(capsys, "--catalog", "custom-minimal.yaml", "--format", "json")
    assert code == 0
    assert [(row["kind"], row["operation"]) for row in json.loads(out)] == [
        ("workspace", "get"),
        ("gadget", "list"),
        ("gadget", "delete"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--catalog", "azureml-1999-01-01"], "no such catalog"),
        (["--format", "xml"], "--format must be table or json"),
        (["--catalog", "broken-yaml.yaml"], "broken-yaml.yaml:7:1: error: $: invalid YAML"),
    ],
)
def test_catalog_list_errors_exit_1(
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(CATALOG_FIXTURES)
    code, out, err = _catalog_list(capsys, *args)
    assert code == 1
    assert message in err
    assert "Traceback" not in out + err and "internal error" not in err


# --- safe expansion ---------------------------------------------------------------------------

ALL_OPERATIONS = [
    pytest.param(name, operation, id=f"{name}:{operation.kind}.{operation.name}")
    for name in BUILTIN_CATALOGS
    for operation in load_catalog(name).operations()
]


def _check_prepared(
    template: Operation, url: str, values: dict[str, str], catalog: Catalog
) -> None:
    """The URL requests would send keeps the template's host, shape, fixed segments and query."""
    prepared = requests.Request(template.method, url).prepare().url
    assert prepared is not None
    sent, want = urlsplit(prepared), urlsplit(template.url)
    expected_host = want.netloc.replace("{location}", values["location"].lower())
    assert sent.scheme == "https"
    assert sent.hostname == expected_host
    assert sent.port is None and sent.username is None and sent.password is None
    assert host_allowed(sent.hostname, catalog.hosts)
    got, template_segments = _path_segments(prepared), _path_segments(template.url)
    assert len(got) == len(template_segments), (template.url, prepared)
    for have, fixed in zip(got, template_segments, strict=True):
        if not _is_variable(fixed):
            assert have == fixed, (template.url, prepared)
        else:
            assert have not in ("", ".", "..") and "/" not in have
    assert sent.query == want.query
    assert sent.fragment == ""


@pytest.mark.parametrize(("name", "operation"), ALL_OPERATIONS)
def test_benign_values_expand(name: str, operation: Operation) -> None:
    catalog = _catalog(name)
    values = _benign_values(operation)
    url = expand(operation, values, catalog.hosts)
    assert "{" not in url and "}" not in url
    _check_prepared(operation, url, values, catalog)


@pytest.mark.parametrize(("name", "operation"), ALL_OPERATIONS)
def test_hostile_values_never_change_host_or_shape(name: str, operation: Operation) -> None:
    catalog = _catalog(name)
    variables = set(_variables(operation)) | (
        {"location"} if "{location}" in urlsplit(operation.url).netloc else set()
    )
    assert variables, "every catalog URL has variables"
    refused = accepted = 0
    for variable in sorted(variables):
        for hostile in HOSTILE:
            values = _benign_values(operation)
            values[variable] = hostile
            try:
                url = expand(operation, values, catalog.hosts)
            except ExpandError as error:
                assert f"{operation.kind}.{operation.name}" in str(error)
                refused += 1
                continue
            accepted += 1
            _check_prepared(operation, url, values, catalog)
    assert refused and accepted  # the corpus exercises both outcomes


@pytest.mark.parametrize("value", ["..", ".", "%2e%2e", ".%2e", "../..", "", "\u2024\u2024"])
def test_dotdot_compute_name_never_reaches_the_workspace(value: str) -> None:
    """`computes/..` normalizes to the workspace itself; it must never be sent."""
    catalog = _catalog("azureml-2019-11-01")
    workspace_url = expand(catalog.kind("workspace").op("get"), BENIGN, catalog.hosts)
    workspace_path = urlsplit(workspace_url).path

    get = catalog.kind("compute").op("get")
    # A compute delete shaped like ARM's, to prove DELETE is as safe as GET.
    delete = Operation(
        kind="compute",
        name="delete",
        method="DELETE",
        url=get.url,
        anchor="export-compute-information",
        statuses={200: "deleted"},
    )
    # The danger is real: naive substitution of '..' sends a request for the workspace
    # (urllib3 removes dot segments, leaving `.../workspaces/demo-ws/`).
    naive = get.url.format(**BENIGN, computeName="..")
    naive_path = urlsplit(requests.Request("DELETE", naive).prepare().url or "").path
    assert naive_path.rstrip("/") == workspace_path

    for operation in (get, delete):
        values = {**BENIGN, "computeName": value}
        try:
            url = expand(operation, values, catalog.hosts)
        except ExpandError:
            continue
        prepared = requests.Request(operation.method, url).prepare().url or ""
        assert urlsplit(prepared).path.rstrip("/") != workspace_path
        assert urlsplit(prepared).path.startswith(workspace_path + "/computes/")
        _check_prepared(operation, url, values, catalog)
    with pytest.raises(ExpandError, match=r"compute\.get: \{computeName\} may not be '\.\.'"):
        expand(get, {**BENIGN, "computeName": ".."}, catalog.hosts)


@pytest.mark.parametrize(
    "location",
    [
        "evil.com/#",
        "EastUS.evil",
        "a_b",
        "eastus.",
        "-eastus",
        "eastus-",
        "east us",
        "eastus\n",
        "a" * 64,
        "",
        "\uff45\uff41\uff53\uff54\uff55\uff53",  # fullwidth "eastus"
        "eastus@evil.com",
        "evil.com:443",
    ],
)
def test_location_must_be_a_dns_label(location: str) -> None:
    catalog = _catalog("azureml-2019-11-01")
    operation = catalog.kind("run").op("list")
    values = {**_benign_values(operation), "location": location}
    with pytest.raises(ExpandError, match=r"^run\.list: "):
        expand(operation, values, catalog.hosts)


def test_location_dns_label_is_lowercased() -> None:
    catalog = _catalog("azureml-2019-11-01")
    operation = catalog.kind("model").op("list")
    url = expand(operation, {**BENIGN, "location": "WestEurope"}, catalog.hosts)
    assert urlsplit(url).hostname == "westeurope.modelmanagement.azureml.net"


def test_values_are_percent_encoded_into_one_segment() -> None:
    catalog = _catalog("azureml-2019-11-01")
    operation = catalog.kind("run").op("get")
    values = {**BENIGN, "experimentName": "my exp?#%", "runId": "\uff45\uff56\uff49\uff4c"}
    url = expand(operation, values, catalog.hosts)
    segments = _path_segments(url)
    assert segments[-3] == "my%20exp%3F%23%25"
    assert segments[-1] == "%EF%BD%85%EF%BD%96%EF%BD%89%EF%BD%8C"


def test_missing_variable_names_the_entry_and_the_variable() -> None:
    catalog = _catalog("azureml-2019-11-01")
    operation = catalog.kind("metric").op("get")
    values = _benign_values(operation)
    del values["metricId"]
    with pytest.raises(ExpandError) as caught:
        expand(operation, values, catalog.hosts)
    assert str(caught.value) == "metric.get: no value for {metricId} in the URL template"
    values = {key: value for key, value in BENIGN.items() if key != "location"}
    with pytest.raises(ExpandError, match=r"^metric\.get: no value for \{location\}"):
        expand(operation, values, catalog.hosts)


def test_non_string_value_is_refused() -> None:
    catalog = _catalog("azureml-2019-11-01")
    operation = catalog.kind("model").op("get")
    values: dict[str, Any] = {**BENIGN, "id": 7}
    with pytest.raises(ExpandError, match=r"model\.get: \{id\} must be a string"):
        expand(operation, values, catalog.hosts)


def test_host_outside_the_catalog_is_refused() -> None:
    catalog = _catalog("azureml-2019-11-01")
    rogue = Operation(
        kind="model",
        name="get",
        method="GET",
        url="https://{location}.evil.example/api/subscriptions/{subscriptionId}/models",
        anchor="export-models",
    )
    with pytest.raises(ExpandError, match="is not one of the catalog's hosts"):
        expand(rogue, BENIGN, catalog.hosts)


def test_scope_vars_are_the_workspace_fields() -> None:
    assert set(SCOPE_VARS) == set(BENIGN)


# --- user catalog files -----------------------------------------------------------------------

BROKEN_CATALOGS = {
    "broken-yaml.yaml": [
        "broken-yaml.yaml:7:1: error: $: invalid YAML: expected ',' or '}', but got "
        "'<stream end>' (while parsing a flow mapping)",
    ],
    "schema-errors.yaml": [
        "schema-errors.yaml:2:1: error: $: missing required key 'title'",
        "schema-errors.yaml:12:17: error: $.kinds.workspace.operations.get.method: "
        "'PATCH' is not one of: GET, DELETE, POST",
        "schema-errors.yaml:15:9: error: $.kinds.workspace.operations.get.retries: "
        "unknown key 'retries'; expected one of: anchor, body, doc_url, erasure, if_match, "
        "long_running, method, modes, note, only_empty, paging, statuses, url",
        "schema-errors.yaml:20:25: error: $.kinds.workspace.operations.delete.statuses['200']: "
        "'gone' is not one of: deleted, accepted, absent, blocked",
    ],
    "partial-segment.yaml": [
        "partial-segment.yaml:25:14: error: $.kinds.notification_task.operations.get.url: "
        "segment '{workspaceName}tasks': a variable must be a whole path segment",
    ],
    "foreign-host.yaml": [
        "foreign-host.yaml:24:14: error: $.kinds.model.operations.list.url: "
        "host 'eastus.modelmanagement.evil.example' is not in `hosts`",
    ],
    "unsourced-variable.yaml": [
        "unsourced-variable.yaml:25:14: error: $.kinds.run.operations.list.url: variable "
        "{experimentName} has no source (known: location, resourceGroupName, subscriptionId, "
        "workspaceName)",
        "unsourced-variable.yaml:25:14: error: $.kinds.run.operations.list.url: variable "
        "{runId} has no source (known: location, resourceGroupName, subscriptionId, "
        "workspaceName)",
    ],
}


@pytest.mark.parametrize("fixture", sorted(BROKEN_CATALOGS))
def test_broken_catalog_file_is_reported_with_its_places(
    fixture: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(CATALOG_FIXTURES)
    manifest = "../manifests/valid/catalog-2018.yaml"
    code = main(["validate", "--catalog", fixture, manifest])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == BROKEN_CATALOGS[fixture]
    assert "Traceback" not in out + err and "internal error" not in err

    with pytest.raises(CatalogError) as caught:
        load_catalog(fixture)
    assert [str(d) for d in caught.value.diagnostics] == BROKEN_CATALOGS[fixture]
    assert all(d.file == fixture and d.line > 1 for d in caught.value.diagnostics)


def test_broken_catalog_named_by_a_manifest_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_bytes((CATALOG_FIXTURES / "partial-segment.yaml").read_bytes())
    manifest = (HERE / "manifests" / "valid" / "custom-catalog.yaml").read_text(encoding="utf-8")
    (tmp_path / "m.yaml").write_text(
        manifest.replace("../../catalogs/custom-minimal.yaml", "bad.yaml"), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    code = main(["validate", "m.yaml"])
    out, err = capsys.readouterr()
    assert code == 1
    # One catalog problem is reported at the manifest's `catalog:` line (see load._catalog_for).
    assert "bad.yaml" in out
    assert "segment '{workspaceName}tasks': a variable must be a whole path segment" in out
    assert "Traceback" not in out + err


def test_good_user_catalog_loads_by_path() -> None:
    catalog = load_catalog(str(CATALOG_FIXTURES / "custom-minimal.yaml"))
    assert catalog.name == "custom-minimal"
    assert catalog.kind("gadget").parent == "workspace"
    assert catalog.kind("gadget").can("delete") and not catalog.kind("gadget").can("get")
    url = expand(
        catalog.kind("gadget").op("delete"), {**BENIGN, "gadgetName": "g 1"}, catalog.hosts
    )
    assert url.endswith("/workspaces/demo-ws/gadgets/g%201?api-version=2019-11-01")


@pytest.mark.parametrize("value", [
    "run-0001", "a:b@c", "x~y.z_", "A-Z09", "\u00e9t\u00e9", "a b", "a%b", "a+b", "a;b,c=d",
    "a!b'c(d)*", "a&b$c", "..x", "x..", "~", ":", "@",
])
def test_each_value_fills_its_segment_as_quote_encodes_it(value: str) -> None:
    # expand leaves the characters quote() never encodes as they are, without calling it
    catalog = _catalog("azureml-2019-11-01")
    operation = catalog.kind("run").op("get")
    url = expand(operation, {**_benign_values(operation), "runId": value}, catalog.hosts)
    assert _path_segments(url)[-1] == quote(value, safe=":@")


def test_host_allowed_answers_alike_for_any_iterable_of_patterns() -> None:
    catalog = _catalog("azureml-2019-11-01")
    for host in ("eastus.experiments.azureml.net", "management.azure.com", "evil.example",
                 "a.b.experiments.azureml.net", "EASTUS.Experiments.AzureML.net"):
        assert host_allowed(host, catalog.hosts) == host_allowed(host, list(catalog.hosts))
    assert host_allowed("eastus.experiments.azureml.net", catalog.hosts)
    assert not host_allowed("evil.example", catalog.hosts)
