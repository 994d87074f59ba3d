"""The catalog field `export_from_list`: which kinds carry it, what the loader demands of it, and
`values_of`, which finds an item's list from the get URL its plan holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from amlctl.catalog import BUILTIN_CATALOGS, Operation, expand, load_catalog, values_of
from amlctl.errors import CatalogError

HERE = Path(__file__).parent
MINIMAL = (HERE / "catalogs" / "custom-minimal.yaml").read_text(encoding="utf-8")
WS = "https://management.azure.com/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}"
VALUES = {
    "subscriptionId": "6a3c9f1e-2b4d-4c8a-9e1f-0123456789ab",
    "resourceGroupName": "demo-rg",
    "workspaceName": "demo ws",
    "location": "eastus",
}
GETS = [
    (name, kind.op("get"))
    for name in BUILTIN_CATALOGS
    for kind in load_catalog(name).kinds.values()
    if kind.can("get")
]


def test_the_article_catalogs_export_metrics_and_runs_from_their_list() -> None:
    marked = {
        name: sorted(k.name for k in load_catalog(name).kinds.values() if k.export_from_list)
        for name in BUILTIN_CATALOGS
    }
    assert marked == {
        "azureml-2018-03-01-preview": ["metric", "run"],
        "azureml-2019-11-01": ["metric", "run"],
        "azureml-2026-05-01": [],
    }


@pytest.mark.parametrize(("name", "operation"), GETS, ids=lambda v: getattr(v, "kind", v))
def test_values_of_inverts_expand(name: str, operation: Operation) -> None:
    names = re.findall(r"\{([A-Za-z][A-Za-z0-9_]*)\}", operation.url)
    values = {**VALUES, **{n: f"it%em {n}:1" for n in names if n not in VALUES}}
    wanted = {n: values[n] for n in names}
    url = expand(operation, values, load_catalog(name).hosts)
    assert values_of(operation, url) == wanted


def test_values_of_a_url_of_another_shape_is_none() -> None:
    catalog = load_catalog("azureml-2019-11-01")
    metric, run = catalog.kind("metric"), catalog.kind("run")
    run_url = expand(run.op("get"), {**VALUES, "experimentName": "e", "runId": "r"}, catalog.hosts)
    assert values_of(metric.op("get"), run_url) is None
    other_host = run_url.replace("experiments.azureml.net", "example.com")
    assert values_of(run.op("get"), other_host) is None


def _catalog(tmp_path: Path, gadget_ops: str, extra: str = "", parent_vars: str = "{}") -> str:
    text = MINIMAL.split("  gadget:")[0] + (
        "  gadget:\n"
        "    description: A made-up child kind.\n"
        f"    parent: {{kind: workspace, vars: {parent_vars}}}\n"
        "    id_field: name\n"
        "    id_var: gadgetName\n"
        "    export_from_list: true\n"
        f"{extra}"
        "    operations:\n"
        f"{gadget_ops}"
    )
    path = tmp_path / "catalog.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


LIST = (
    "      list:\n        method: GET\n"
    f'        url: "{WS}/gadgets/{{shelf}}?api-version=1"\n'
    "        paging: {style: next_link}\n        anchor: a\n"
)
GET = f'      get:\n        method: GET\n        url: "{WS}/gadgets/{{gadgetName}}?api-version=1"\n        anchor: a\n'  # noqa: E501


@pytest.mark.parametrize(
    ("ops", "extra", "message"),
    [
        (LIST.replace("/{shelf}", ""), "", "needs both a list and a get operation"),
        (LIST.replace("/{shelf}", "") + GET, "    as_one: true\n", "cannot go with as_one"),
    ],
)
def test_the_loader_refuses_an_export_from_list_it_cannot_honour(
    tmp_path: Path, ops: str, extra: str, message: str
) -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog(_catalog(tmp_path, ops, extra))
    problems = [str(d) for d in caught.value.diagnostics]
    assert any("$.kinds.gadget.export_from_list" in p and message in p for p in problems), problems


def test_the_list_url_must_be_found_from_the_get_url(tmp_path: Path) -> None:
    # The list takes {shelf} from the parent item; the get URL does not hold it, so apply could
    # not tell which list an item's planned get URL belongs to.
    with pytest.raises(CatalogError) as caught:
        load_catalog(_catalog(tmp_path, LIST + GET, parent_vars="{shelf: x}"))
    problems = [str(d) for d in caught.value.diagnostics]
    assert any("the list URL needs {shelf}, which the get URL lacks" in p for p in problems), (
        problems
    )


def test_a_well_formed_export_from_list_kind_loads(tmp_path: Path) -> None:
    catalog = load_catalog(_catalog(tmp_path, LIST.replace("/{shelf}", "") + GET))
    assert catalog.kind("gadget").export_from_list
