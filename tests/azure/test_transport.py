"""The http.client transport against real loopback servers: keep-alive, stale sockets, cut
bodies, redirects, TLS trust and proxies, and the amlctl Client on top of it."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from amlctl.azure.auth import StaticToken
from amlctl.azure.client import Client
from amlctl.azure.proxies import Proxies
from amlctl.azure.target import Target
from amlctl.azure.transport import CutShort, HttpTransport, NoAnswer, RawReply, Untrusted
from amlctl.azure.trust import tls_context
from amlctl.emulator.tls import ensure_certificate, server_context
from amlctl.errors import ApiError, UsageError

from .loopback import Seen, connect_proxy, scripted_server

TIMEOUT = (5.0, 5.0)


@pytest.fixture
def plain() -> Iterator[tuple[str, Seen]]:
    with scripted_server() as (port, seen):
        yield f"http://127.0.0.1:{port}", seen


@pytest.fixture
def pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_certificate(tmp_path_factory.mktemp("tls") / "server.pem")


@pytest.fixture
def make() -> Iterator[type[HttpTransport]]:
    """HttpTransport, with every one made closed at the end (no socket left to warn)."""
    made: list[HttpTransport] = []

    class Closing(HttpTransport):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    yield Closing
    for transport in made:
        transport.close()


def _get(
    transport: HttpTransport, url: str, *, replayable: bool = True, method: str = "GET"
) -> RawReply:
    return transport.send(
        method, url, {"Accept": "application/json"}, None, timeout=TIMEOUT, replayable=replayable
    )


def test_keep_alive_connections_are_reused(
    make: type[HttpTransport], plain: tuple[str, Seen]
) -> None:
    origin, seen = plain
    transport = make(4)
    replies = [_get(transport, f"{origin}/ok?n={n}") for n in range(5)]
    assert [reply.status for reply in replies] == [200] * 5
    assert replies[0].content == b'{"value": []}'
    assert transport.opened == 1 and seen.connections == 1
    assert {number for number, *_ in seen.requests} == {1}
    transport.close()


def test_an_idle_socket_the_server_closed_is_dropped_before_sending(
    make: type[HttpTransport], plain: tuple[str, Seen]
) -> None:
    origin, seen = plain
    transport = make(4, trust_idle_for=0.1)
    assert _get(transport, f"{origin}/hang-up").status == 200
    time.sleep(0.2)  # the server's FIN arrives while the socket sits idle
    # a DELETE the retry rules would never resend still goes out once, on a fresh socket
    assert _get(transport, f"{origin}/ok", method="DELETE", replayable=False).status == 200
    assert transport.opened == 2 and len(seen.requests) == 2


def test_a_socket_closed_under_a_request_is_replayed_only_when_allowed(
    make: type[HttpTransport], plain: tuple[str, Seen]
) -> None:
    origin, seen = plain
    transport = make(4)
    assert _get(transport, f"{origin}/drop-second").status == 200
    assert _get(transport, f"{origin}/drop-second").status == 200  # replayed on a fresh one
    assert [number for number, *_ in seen.requests] == [1, 1, 2]
    assert _get(transport, f"{origin}/drop-second").status == 200  # conn 2, its second: dropped
    with pytest.raises(NoAnswer) as lost:
        _get(transport, f"{origin}/drop-second", method="DELETE", replayable=False)
    assert lost.value.code == "ConnectionError"
    deletes = [entry for entry in seen.requests if entry[1] == "DELETE"]
    assert len(deletes) == 1  # never sent twice


@pytest.mark.parametrize("path", ["/truncated", "/broken-chunk"])
def test_a_body_cut_short_is_cut_short(
    make: type[HttpTransport], plain: tuple[str, Seen], path: str
) -> None:
    origin, _ = plain
    with pytest.raises(CutShort) as whole:
        _get(make(1), origin + path)
    assert whole.value.code == "ChunkedEncodingError"
    with pytest.raises(CutShort):
        make(1).send(
            "GET", origin + path, {}, None, timeout=TIMEOUT, replayable=True, sink=io.BytesIO()
        )


def test_redirects_are_answers_not_followed(
    make: type[HttpTransport], plain: tuple[str, Seen]
) -> None:
    origin, seen = plain
    reply = _get(make(1), f"{origin}/redirect")
    assert reply.status == 302 and reply.headers["Location"] == "/ok"
    assert [path for _, _, path, _ in seen.requests] == ["/redirect"]


def test_big_bodies_stream_to_the_sink(make: type[HttpTransport], plain: tuple[str, Seen]) -> None:
    origin, _ = plain
    sink = io.BytesIO()
    reply = make(1).send(
        "GET", f"{origin}/big", {}, None, timeout=TIMEOUT, replayable=True, sink=sink
    )
    assert reply.content == b"" and sink.getvalue() == bytes(range(256)) * 4096


def test_a_compressed_answer_is_read_though_identity_was_asked(
    make: type[HttpTransport], plain: tuple[str, Seen]
) -> None:
    origin, seen = plain
    reply = _get(make(1), f"{origin}/gzip")
    assert reply.content == b'{"value": []}'
    assert seen.requests[0][3]["Accept-Encoding"] == "identity"


def test_nothing_listening_is_no_answer(make: type[HttpTransport]) -> None:
    with scripted_server() as (port, _):
        pass  # closed again: nothing listens on the port now
    with pytest.raises(NoAnswer) as refused:
        _get(make(1), f"http://127.0.0.1:{port}/ok")
    assert refused.value.code == "ConnectionError"


def test_tls_is_verified_against_the_bundle(
    make: type[HttpTransport], pem: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with scripted_server(tls=server_context(pem)) as (port, _):
        url = f"https://localhost:{port}/ok"
        assert _get(make(1, tls_context(str(pem))), url).status == 200
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        with pytest.raises(Untrusted):
            _get(make(1, tls_context(True)), url)  # the system's CAs do not know it
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pem))  # as requests honours it
        assert _get(make(1, tls_context(True)), url).status == 200
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pem.with_name("missing.pem")))
        with pytest.raises(UsageError, match="REQUESTS_CA_BUNDLE"):
            tls_context(True)
        with pytest.raises(UsageError):
            tls_context(False)


def test_https_tunnels_through_the_environment_proxy(make: type[HttpTransport], pem: Path) -> None:
    with (
        scripted_server(tls=server_context(pem)) as (port, seen),
        connect_proxy({f"localhost:{port}": port}) as (proxy_port, log),
    ):
        settings = {"https": f"http://me:s%40cret@127.0.0.1:{proxy_port}", "no": "example.org"}
        transport = make(2, tls_context(str(pem)), Proxies(settings))
        url = f"https://localhost:{port}/ok"
        for _ in range(2):
            assert (
                transport.send(
                    "GET",
                    url,
                    {"Authorization": "Bearer secret-token"},
                    None,
                    timeout=TIMEOUT,
                    replayable=True,
                ).status
                == 200
            )
        assert len(log.heads) == 1  # one tunnel, kept alive
        assert log.heads[0].startswith(f"CONNECT localhost:{port} HTTP/1.")
        assert "Proxy-Authorization: Basic bWU6c0BjcmV0" in log.heads[0]  # me:s@cret
        assert b"secret-token" not in log.relayed  # TLS end to end: the proxy sees no token
        assert seen.requests[0][3]["Authorization"] == "Bearer secret-token"
        bypassed = Proxies({**settings, "no": "localhost"})
        assert (
            make(1, tls_context(str(pem)), bypassed)
            .send("GET", url, {}, None, timeout=TIMEOUT, replayable=True)
            .status
            == 200
        )
        assert len(log.heads) == 1  # NO_PROXY: straight to the server


def test_proxy_settings_that_cannot_work_are_named() -> None:
    with pytest.raises(UsageError, match="HTTPS_PROXY"):
        Proxies({"https": "https://proxy.example:8443"})
    with pytest.raises(UsageError, match="HTTPS_PROXY"):
        Proxies({"https": "http://proxy.example:port"})
    proxies = Proxies({"https": "proxy.example:3128", "no": ".internal"})
    found = proxies.proxy_for("https", "management.azure.com")
    assert found is not None and (found.host, found.port) == ("proxy.example", 3128)
    assert proxies.proxy_for("https", "git.internal") is None
    assert proxies.proxy_for("http", "management.azure.com") is None


def test_the_client_over_http_client(make: type[HttpTransport], plain: tuple[str, Seen]) -> None:
    origin, seen = plain
    client = Client(
        make(2), Target.at(origin), StaticToken(), ["api.example.org"], sleep=lambda _: None
    )
    assert client.get("https://api.example.org/ok").body == {"value": []}
    with pytest.raises(ApiError) as moved:
        client.get("https://api.example.org/redirect")
    assert moved.value.status == 302
    with pytest.raises(ApiError) as cut:
        client.get("https://api.example.org/truncated")
    assert cut.value.code == "ChunkedEncodingError"
    truncated = [entry for entry in seen.requests if entry[2].endswith("/truncated")]
    assert len(truncated) == client.attempts  # retried, as a cut body always was
    sent = seen.requests[0][3]
    assert sent["Authorization"] == "Bearer amlctl-emulator" and "x-ms-client-request-id" in sent


def test_downloads_stream_through_a_spool_and_retry_from_the_start(
    make: type[HttpTransport], plain: tuple[str, Seen]
) -> None:
    origin, seen = plain
    client = Client(
        make(2), Target.at(origin), StaticToken(), [], ["blob.example.net"], sleep=lambda _: None
    )
    chunks = list(client.download_chunks("https://blob.example.net/c/big?sig=x"))
    assert b"".join(chunks) == bytes(range(256)) * 4096 and len(chunks) == 4
    assert "Authorization" not in seen.requests[-1][3]  # the SAS is the credential
    spool = io.BytesIO(b"left over from an earlier attempt")
    with pytest.raises(ApiError) as cut:
        client.download("https://blob.example.net/c/truncated", into=spool)
    assert cut.value.code == "ChunkedEncodingError" and spool.getvalue() == b'{"value"'


def test_commands_send_through_http_client_with_the_environment_proxies(
    monkeypatch: pytest.MonkeyPatch, pem: Path
) -> None:
    from amlctl.azure.connect import open_client
    from amlctl.azure.target import Connection
    from amlctl.catalog import load_catalog

    catalog = load_catalog()
    with (
        scripted_server(tls=server_context(pem)) as (port, seen),
        connect_proxy({f"localhost:{port}": port}) as (proxy_port, log),
    ):
        monkeypatch.setenv("AMLCTL_CA_BUNDLE", str(pem))
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        endpoint = f"https://localhost:{port}"
        with open_client(catalog, Connection(endpoint=endpoint)) as client:
            assert isinstance(client.transport, HttpTransport)
            host = catalog.hosts[0]
            assert client.get(f"https://{host}/ok").status == 200
        assert log.heads and seen.requests[0][2] == f"/{host}/ok"
        monkeypatch.setenv("HTTPS_PROXY", "https://proxy.example")
        with (
            pytest.raises(UsageError, match="HTTPS_PROXY"),
            open_client(catalog, Connection(endpoint=endpoint)),
        ):
            pass
