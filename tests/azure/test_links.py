"""Links from the service's answers are checked before any socket opens; a refused one is an
ApiError of its item (RefusedLink), never a crash of the run."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import requests

from amlctl.azure.auth import StaticToken
from amlctl.azure.client import Client, PollLink, RefusedLink
from amlctl.azure.target import Target
from amlctl.catalog import Paging, expand, load_catalog
from amlctl.emulator import EmulatorConfig
from amlctl.emulator.seed import RESOURCE_GROUP, SUBSCRIPTION
from tests.azure.conftest import Wired

Build = Callable[..., Wired]

HOSTILE = [
    "https://evil.example.com/op",
    "http://management.azure.com/op",  # not https
    "https://user@management.azure.com/op",  # userinfo
    "https://management.azure.com:abc/op",  # a port that is not a number
    "https://[::1/op",  # not a URL at all
    "https://management.azure.com:8443/op",
]


@pytest.mark.parametrize("link", HOSTILE)
def test_a_hostile_poll_or_download_link_is_refused_cleanly(wired: Build, link: str) -> None:
    w = wired(EmulatorConfig(throttle=False))
    with pytest.raises(RefusedLink, match="the service's poll link") as polled:
        w.client.poll(PollLink(link))
    with pytest.raises(RefusedLink, match="the service's download link"):
        w.client.download(link)
    assert polled.value.code == "RefusedLink" and polled.value.status is None
    assert w.client.stats.requests == 0 and w.sleeps == []


class _HostilePages(requests.adapters.BaseAdapter):
    """A fake service whose list answers with a next page off the catalog's hosts."""

    def send(self, request: requests.PreparedRequest, **_: object) -> requests.Response:
        response = requests.Response()
        response.status_code, response.request = 200, request
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(
            {"value": [{"name": "a"}], "nextLink": "https://evil.example.com/page2"}
        ).encode()
        return response

    def close(self) -> None:
        pass


def test_a_next_page_off_the_catalog_hosts_is_refused_before_it_is_sent() -> None:
    session = requests.Session()
    session.mount("https://", _HostilePages())
    catalog = load_catalog()
    client = Client(session, Target("azure"), StaticToken(), catalog.hosts, catalog.content_hosts)
    url = expand(catalog.kind("workspace").op("list"), {"subscriptionId": SUBSCRIPTION,
                 "resourceGroupName": RESOURCE_GROUP}, catalog.hosts)
    pages = client.pages(url, Paging("next_link"))
    assert next(pages) == [{"name": "a"}]
    with pytest.raises(RefusedLink, match="next page"):
        next(pages)
    assert client.stats.requests == 1
