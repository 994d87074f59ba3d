"""Links from the service's answers are checked before any socket opens; a refused one is an
ApiError of its item (RefusedLink), never a crash of the run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from amlctl.azure.client import PollLink, RefusedLink
from amlctl.emulator import EmulatorConfig
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
