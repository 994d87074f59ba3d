"""Kinds marked `export_from_list` (metrics and runs in the article's catalogs) are exported
from their collection's list pages, read once for all the items of that collection, instead of
a GET each; the staleness check still holds item by item, and the files are what a GET-export
wrote."""

from __future__ import annotations

import functools
import json
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import FULL_EXPORT, TOKEN, Emulator, cli, log_path_of, make_plan, ws_key

import amlctl.azure.client as client_module
from amlctl.apply import listcheck
from amlctl.apply.export import index as exportindex
from amlctl.apply.export.exporter import strip_secrets
from amlctl.azure.retry import backoff_delays
from amlctl.canonical import pretty_json
from amlctl.catalog import expand, load_catalog, values_of
from amlctl.emulator.seed import WORKSPACE
from amlctl.plan.model import Action
from amlctl.plan.reading import indexed, load_plan

CATALOG = load_catalog("azureml-2019-11-01")
# Each kind exported from its list, and a change to one of its version fields.
KINDS = {"metric": {"name": "renamed-since-plan"}, "run": {"revision": 999}}


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shared list is used: the demo holds only a few items per experiment."""
    monkeypatch.setattr(listcheck, "LIST_FROM", 1)


def _exports(changes: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [c for c in changes if c["kind"] == kind and c["action"] == "export"]


def _list_path(change: dict[str, Any]) -> str:
    """How the access log shows the list `change`'s item is in (its experiment's)."""
    kind = CATALOG.kind(change["kind"])
    values = values_of(kind.op("get"), change["url"])
    assert values is not None, change["url"]
    return log_path_of(expand(kind.op("list"), values, CATALOG.hosts))


def _list_reads(log: list[dict[str, Any]], lists: set[str]) -> Counter[str]:
    """First-page reads of each list (later pages carry a continuation token)."""
    firsts = (e for e in log if e["method"] == "GET" and e["path"] in lists)
    return Counter(e["path"] for e in firsts if "continuationtoken" not in e["path"].lower())


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unchanged_items_are_exported_from_one_read_of_their_list(
    work: Path, emu: Emulator, kind: str
) -> None:
    planned = make_plan(emu, FULL_EXPORT)
    exports = _exports(planned.changes, kind)
    lists = {_list_path(c) for c in exports}
    assert len(exports) > len(lists) > 1  # several experiments, several items in some
    mark = emu.mark()

    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

    assert result.code == 0, result.text
    log = emu.log(mark)
    got = {e["path"].split("?")[0] for e in log if e["method"] == "GET"}
    assert not got & {log_path_of(c["url"]) for c in exports}  # no GET of any item
    assert _list_reads(log, lists) == Counter(dict.fromkeys(lists, 1))
    pages = [e for e in log if e["path"].split("?")[0] in lists]
    assert len(pages) == len(lists)  # the demo's lists fit on one page each
    items = planned.receipt_items()
    entries = exportindex.read_entries(str(planned.export_root))
    for change in exports:
        assert items[change["address"]]["result"] == "exported", change["address"]
        # The file holds exactly what the item's GET answers (what apply wrote before).
        answer = json.loads(cli_get(emu, change["url"]))
        written = (planned.export_root / change["file"]).read_bytes()
        assert written == pretty_json(strip_secrets(answer)[0], allow_nan=True)
        entry = entries[change["address"]]  # evidence names the list page the item came from
        assert log_path_of(entry["source_url"]) == _list_path(change)
        assert entry["request_id"] in {e["requestId"] for e in pages}
    verified = cli("verify", str(planned.path), "--endpoint", emu.origin, "--manual-done", "all")
    assert verified.code == 0, verified.text


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_collection_of_many_pages_is_read_once_through_for_all_its_items(
    work: Path, emu: Emulator, kind: str
) -> None:
    emu.app.config = emu.app.config.with_page_size(2)
    mark = emu.mark()
    planned = make_plan(emu, FULL_EXPORT)
    exports = _exports(planned.changes, kind)
    lists = {_list_path(c) for c in exports}

    def reads(log: list[dict[str, Any]]) -> Counter[str]:
        return Counter(p for e in log if (p := e["path"].split("?")[0]) in lists)

    planned_reads = reads(emu.log(mark))
    assert max(planned_reads.values()) > 1  # some list takes several pages
    mark = emu.mark()

    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

    assert result.code == 0, result.text
    assert reads(emu.log(mark)) == planned_reads  # each page once, as plan read them
    items = planned.receipt_items()
    assert all(items[c["address"]]["result"] == "exported" for c in exports)


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_item_changed_or_gone_since_plan_is_skipped_not_exported(
    work: Path, emu: Emulator, kind: str
) -> None:
    planned = make_plan(emu, FULL_EXPORT)
    exports = _exports(planned.changes, kind)
    changed, gone = exports[0], exports[1]
    key = ws_key(WORKSPACE)
    emu.store.patch(key, kind, changed["id"], KINDS[kind])
    assert emu.store.delete(key, kind, gone["id"])

    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

    assert result.code != 0, result.text  # not everything planned was done
    items = planned.receipt_items()
    assert items[changed["address"]]["result"] == "skipped"
    assert items[changed["address"]]["detail"].startswith("changed-since-plan")
    assert items[gone["address"]]["result"] == "skipped"
    assert items[gone["address"]]["detail"].startswith("gone-since-plan")
    for stale in (changed, gone):  # nothing exported from stale data
        assert not (planned.export_root / stale["file"]).exists()
    rest = [c for c in exports if c not in (changed, gone)]
    assert all(items[c["address"]]["result"] == "exported" for c in rest)


@pytest.mark.usefixtures("listed")
def test_the_items_of_a_list_that_is_gone_are_skipped_as_gone(work: Path, emu: Emulator) -> None:
    planned = make_plan(emu, FULL_EXPORT)
    metrics = _exports(planned.changes, "metric")
    values = values_of(CATALOG.kind("metric").op("get"), metrics[0]["url"])
    assert values is not None
    experiment = values["experimentName"]
    assert emu.store.delete(ws_key(WORKSPACE), "experiment", experiment)
    mark = emu.mark()

    cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

    lost = [c for c in metrics if _list_path(c) == _list_path(metrics[0])]
    answers = [e["status"] for e in emu.log(mark) if e["path"] == _list_path(metrics[0])]
    assert answers == [404]  # read once, for all of them
    items = planned.receipt_items()
    for change in lost:
        assert items[change["address"]]["result"] == "skipped"
        assert items[change["address"]]["detail"].startswith("gone-since-plan")
        assert not (planned.export_root / change["file"]).exists()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_few_items_of_a_list_are_read_by_a_get_each(
    work: Path, emu: Emulator, kind: str
) -> None:
    planned = make_plan(emu, FULL_EXPORT)
    exports = _exports(planned.changes, kind)
    per_list = Counter(_list_path(c) for c in exports)
    assert max(per_list.values()) < listcheck.LIST_FROM  # fewer GETs than a list of 100s
    mark = emu.mark()

    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

    assert result.code == 0, result.text
    got = Counter(e["path"].split("?")[0] for e in emu.log(mark) if e["method"] == "GET")
    assert not set(got) & set(per_list)
    assert all(got[log_path_of(c["url"])] == 1 for c in exports)
    entries = exportindex.read_entries(str(planned.export_root))
    assert all(entries[c["address"]]["source_url"] == c["url"] for c in exports)


def cli_get(emu: Emulator, url: str) -> str:
    """The body the emulator answers a GET of the catalog `url` with (through its loopback)."""
    request = urllib.request.Request(
        emu.origin + log_path_of(url), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request) as answer:
        return str(answer.read().decode("utf-8"))


@pytest.mark.usefixtures("listed")
def test_the_items_of_one_list_are_exported_together_not_in_plan_order(
    work: Path, emu: Emulator
) -> None:
    # In plan order a metric's neighbours are in other experiments (metric ids are uuids), so
    # every experiment's list would be held until the end; one worker takes one list at a time.
    planned = make_plan(emu, FULL_EXPORT)

    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes",
                 "--parallelism", "1")

    assert result.code == 0, result.text
    entries = exportindex.read_entries(str(planned.export_root))
    done = [e["address"] for e in planned.journal() if e["event"] == "export-done"]
    lists = [entries[a]["source_url"] for a in done if entries[a]["source_url"] in _shared(planned)]
    runs = [url for i, url in enumerate(lists) if i == 0 or lists[i - 1] != url]
    assert len(set(lists)) > 1 and len(runs) == len(set(lists)), runs  # each list once, whole
    in_plan = [c["address"] for c in planned.changes if c["address"] in set(done)]
    assert done != in_plan  # the order really changed: the test would hold for plan order too


def _shared(planned: Any) -> set[str]:
    """Source URLs that more than one exported item was read from: the shared lists."""
    entries = exportindex.read_entries(str(planned.export_root))
    counts = Counter(e["source_url"] for e in entries.values())
    return {url for url, n in counts.items() if n > 1}


def test_in_turns_keeps_at_most_width_groups_open_and_each_group_in_order() -> None:
    groups = [[1, 2, 3], [4], [5, 6], [7, 8]]

    order = list(listcheck.in_turns(iter(groups), 2))

    assert sorted(order) == list(range(1, 9))
    for group in groups:
        assert [m for m in order if m in group] == group
    started: set[int] = set()
    for position, member in enumerate(order):
        started |= {i for i, g in enumerate(groups) if member in g}
        unfinished = {i for i in started if not set(groups[i]) <= set(order[: position + 1])}
        assert len(unfinished) <= 2, (position, unfinished)
    assert order[:2] == [1, 4]  # two lists side by side from the start


def test_blend_takes_both_streams_in_proportion_and_ends_them_together() -> None:
    own, members = [f"own{i}" for i in range(3)], [f"m{i}" for i in range(9)]

    order = list(listcheck.blend(iter(own), iter(members), len(own), len(members)))

    assert sorted(order) == sorted(own + members)
    assert [x for x in order if x.startswith("own")] == own  # each stream keeps its order
    assert [x for x in order if x.startswith("m")] == members
    # an item read on its own in every four, from the start to the end
    assert [i for i, x in enumerate(order) if x.startswith("own")] == [0, 4, 8]


def test_blend_gives_the_rest_of_either_stream_when_the_counts_were_wrong() -> None:
    # said to be 1 and 100 long: one of the first, then the second to its end, then the rest
    assert list(listcheck.blend(iter("ab"), iter("xyz"), 1, 100)) == ["a", "x", "y", "z", "b"]
    assert list(listcheck.blend(iter(""), iter("xy"), 5, 2)) == ["x", "y"]
    assert list(listcheck.blend(iter("ab"), iter(""), 2, 0)) == ["a", "b"]
    assert list(listcheck.blend(iter([None, 0]), iter([1]), 2, 1)) == [None, 1, 0]  # items


@pytest.mark.usefixtures("listed")
def test_a_list_that_cannot_be_read_fails_its_items_without_a_read_each(
    work: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = make_plan(emu, FULL_EXPORT)
    metrics = _exports(planned.changes, "metric")
    lists = Counter(_list_path(c) for c in metrics)
    assert len(set(lists.values())) > 1  # lists shared by more metrics than others
    real_page = emu.store.page

    def broken(ws: str, kind: str, **options: Any) -> Any:
        if kind == "metric":
            raise RuntimeError("injected store failure")  # the emulator answers 500
        return real_page(ws, kind, **options)

    monkeypatch.setattr(emu.store, "page", broken)
    monkeypatch.setattr(
        client_module, "backoff_delays", functools.partial(backoff_delays, start=0.01, cap=0.02)
    )
    mark = emu.mark()

    result = cli("apply", str(planned.path), "--endpoint", emu.origin, "--yes")

    assert result.code != 0, result.text
    items = planned.receipt_items()
    for change in metrics:
        assert items[change["address"]]["result"] == "failed", change["address"]
        assert "500" in items[change["address"]]["detail"]
    reads = Counter(e["path"].split("?")[0] for e in emu.log(mark) if e["status"] == 500)
    # One read of each list, with the client's retries: as many requests for a list of many
    # metrics as for a list of few, not that many times each.
    attempts = {reads[path] for path in lists}
    assert len(attempts) == 1 and attempts.pop() > 1, reads


def test_items_that_wait_on_a_request_are_spread_over_the_long_lists_items(
    work: Path, emu: Emulator
) -> None:
    # A run's artifacts are read from their container's list (artifacts have no get): a list
    # per run, each a request for its one item. They go with the items read on their own,
    # blended with the items of the long lists, which are written from one answer each: not
    # all of them first, with the network idle while the long lists' files are written.
    planned = make_plan(emu, FULL_EXPORT)
    plan = load_plan(planned.path).plan
    exports = list(indexed(plan, Action.EXPORT))
    least = 4  # the demo: metrics lists of 4-6, artifact containers and run lists of 1-3
    shared = listcheck.SharedLists(CATALOG, exports, list_from=least)
    lists = Counter(shared.list_of(change) for _, change in exports)
    long = {url for url, n in lists.items() if url is not None and n >= least}
    assert long and any(n < least for url, n in lists.items() if url is not None)

    order = [change for _, change in shared.in_list_order(exports, plan.changes, 2)]

    assert sorted(c.address for c in order) == sorted(c.address for _, c in exports)
    waits = [i for i, change in enumerate(order) if shared.list_of(change) not in long]
    listed = [i for i, change in enumerate(order) if shared.list_of(change) in long]
    # both kinds from the start to the end, in proportion: neither ends much before the other
    assert waits[0] < len(order) / 4 and listed[0] < len(order) / 4
    assert min(waits[-1], listed[-1]) > len(order) * 3 / 4, (waits, listed)
