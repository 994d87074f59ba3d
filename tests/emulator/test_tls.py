"""`serve --tls`: the self-signed certificate beside the database, https on loopback, trusted
through the certificate file and refused without it; and amlctl's `--endpoint https://...`."""

from __future__ import annotations

import http.client
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509

from amlctl.azure.target import Target
from amlctl.azure.trust import CA_BUNDLE_ENV, endpoint_verify
from amlctl.cli import main
from amlctl.emulator import EmulatorApp, default_db_path, open_store
from amlctl.emulator.server import EmulatorServer, running_server
from amlctl.emulator.tls import certificate_path, ensure_certificate, server_context
from amlctl.errors import UsageError

from .conftest import ARM, ARM_V, HISTORY, TOKEN, WS_PATH

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_certificate(tmp_path_factory.mktemp("tls") / "emulator.sqlite3.pem")


@pytest.fixture
def tls_server(pem: Path, tmp_path: Path) -> Iterator[EmulatorServer]:
    store = open_store(tmp_path / "e.sqlite3", "demo")
    app = EmulatorApp(store)
    try:
        with running_server(app, tls=server_context(pem)) as server:
            yield server
    finally:
        app.close()
        store.close()


def _session(verify: bool | str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE is set on this machine; say what we mean
    session.verify = verify
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    return session


def test_the_certificate_is_private_for_loopback_and_made_once(tmp_path: Path) -> None:
    path = certificate_path(tmp_path / "emulator.sqlite3")
    assert path.name == "emulator.sqlite3.pem"
    first = ensure_certificate(path).read_bytes()
    assert path.stat().st_mode & 0o777 == 0o600
    text = first.decode()
    assert text.startswith("# amlctl emulator: a self-signed TLS certificate")
    assert text.index("BEGIN CERTIFICATE") < text.index("BEGIN PRIVATE KEY")
    cert = x509.load_pem_x509_certificate(first)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    path.chmod(0o644)
    assert ensure_certificate(path).read_bytes() == first  # kept, and private again
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_expiring_or_broken_certificate_is_replaced(tmp_path: Path) -> None:
    path = ensure_certificate(tmp_path / "e.pem")
    first = path.read_bytes()
    later = datetime.now(UTC) + timedelta(days=365)
    assert ensure_certificate(path, now=later).read_bytes() != first
    path.write_text("not a certificate")
    assert b"BEGIN CERTIFICATE" in ensure_certificate(path).read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_https_with_the_bundle_and_refused_without(tls_server: EmulatorServer,
                                                   pem: Path) -> None:
    assert tls_server.origin.startswith("https://127.0.0.1:")
    url = f"{tls_server.origin}/{ARM}{WS_PATH}"
    with pytest.raises(requests.exceptions.SSLError):
        _session(True).get(url, params=ARM_V, timeout=10)  # the system's CAs do not know it
    response = _session(str(pem)).get(url, params=ARM_V, timeout=10)  # the server outlived that
    assert response.status_code == 200
    discovery = response.json()["properties"]["discoveryUrl"]
    assert discovery == f"{tls_server.origin}/{HISTORY}/discovery"  # links keep the scheme
    assert _session(str(pem)).get(discovery, timeout=10).json()["history"].startswith("https://")


def test_environment_bundles_and_strict_verification_accept_it(
        tls_server: EmulatorServer, pem: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pem))
    session = requests.Session()  # trusting the environment, as the SDKs' sessions do
    url = f"{tls_server.origin}/{ARM}{WS_PATH}"
    assert session.get(url, params=ARM_V, timeout=10,
                       headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    context = ssl.create_default_context(cafile=str(pem))
    context.verify_flags |= ssl.VERIFY_X509_STRICT  # Python 3.13's default
    for host in ("127.0.0.1", "localhost"):
        connection = http.client.HTTPSConnection(host, tls_server.port, context=context,
                                                 timeout=10)
        connection.request("GET", f"/{HISTORY}/discovery")
        assert connection.getresponse().status == 200
        connection.close()


def test_serve_tls_prints_the_certificate_and_serves_https(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-m", "amlctl", "emulator", "serve", "--tls", "--port", "0", "--db",
         str(db)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        origin = process.stdout.readline().strip().rsplit(" ", 1)[1]
        certificate = process.stdout.readline().strip().rsplit(" ", 1)[1]
        assert origin.startswith("https://127.0.0.1:")
        assert certificate == str(tmp_path / "db.sqlite3.pem")
        response = _session(certificate).get(f"{origin}/{ARM}{WS_PATH}", params=ARM_V,
                                             timeout=10)
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_amlctl_trusts_an_https_endpoint_through_its_bundle(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)
    loopback = Target.at("https://127.0.0.1:8765")
    assert endpoint_verify(Target.at("http://127.0.0.1:8765")) is True
    assert endpoint_verify(loopback) is True  # no bundle yet: the system's certificates
    made = ensure_certificate(certificate_path(default_db_path()))  # `serve --tls`, default db
    assert endpoint_verify(loopback) == str(made)
    assert endpoint_verify(Target.at("https://emulator.example:8765")) is True  # not loopback
    monkeypatch.setenv(CA_BUNDLE_ENV, str(made))
    assert endpoint_verify(Target.at("https://emulator.example:8765")) == str(made)
    monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp_path / "missing.pem"))
    with pytest.raises(UsageError, match=CA_BUNDLE_ENV):
        endpoint_verify(loopback)


def test_amlctl_plans_over_https_and_refuses_an_untrusted_certificate(
        tls_server: EmulatorServer, pem: Path, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = ROOT / "plans" / "examples" / "dsr-export-erase.yaml"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)
    refused = main(["plan", str(manifest), "-o", "refused.plan.json", "--endpoint",
                    tls_server.origin])
    assert refused == 1 and "TLS certificate is not trusted" in capsys.readouterr().err
    monkeypatch.setenv(CA_BUNDLE_ENV, str(pem))
    assert main(["plan", str(manifest), "-o", "ok.plan.json", "--endpoint",
                 tls_server.origin]) == 0
    assert (tmp_path / "ok.plan.json").is_file()
