"""Which certificates amlctl trusts for an `--endpoint https://...` emulator.

An https endpoint is verified against, in order: `AMLCTL_CA_BUNDLE` (a file), else, for a
loopback endpoint, the certificate `amlctl emulator serve --tls` keeps beside the default
database when it exists, else what requests would trust (`tls_context`: REQUESTS_CA_BUNDLE,
CURL_CA_BUNDLE, then the system's certificates with SSL_CERT_FILE). Azure itself gets the
last of these. Verification is never turned off.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from amlctl.azure.target import Target
from amlctl.errors import UsageError

CA_BUNDLE_ENV = "AMLCTL_CA_BUNDLE"


def endpoint_verify(target: Target) -> bool | str:
    """What `requests` should verify the target's certificate with: a CA bundle path, or True
    for the system's certificates."""
    if target.endpoint is None or urlsplit(target.endpoint).scheme != "https":
        return True
    explicit = os.environ.get(CA_BUNDLE_ENV)
    if explicit:
        if not Path(explicit).is_file():
            raise UsageError(f"{CA_BUNDLE_ENV} names no file: {explicit}")
        return explicit
    if _loopback(urlsplit(target.endpoint).hostname or ""):
        pem = _default_emulator_certificate()
        if pem.is_file():
            return str(pem)
    return True


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _default_emulator_certificate() -> Path:
    from amlctl.emulator.database import default_db_path
    from amlctl.emulator.tls import certificate_path

    return certificate_path(default_db_path())


# requests' variables for "the CA bundle to trust", in the order requests reads them.
ENVIRONMENT_BUNDLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS settings for the http.client transport, from `endpoint_verify`'s answer.

    A bundle path is trusted alone. True means what requests would trust: the bundle named by
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (corporate TLS inspection relies on them), else the
    system's certificates, where SSL_CERT_FILE and SSL_CERT_DIR are honoured by OpenSSL
    itself, else certifi's (a container with no system store). Verification is never off."""
    if verify is False:
        raise UsageError("TLS verification cannot be turned off")
    bundle = verify if isinstance(verify, str) else _environment_bundle()
    if bundle is not None:
        return ssl.create_default_context(cafile=bundle)
    context = ssl.create_default_context()
    if not context.cert_store_stats()["x509_ca"] and not _default_directory():
        import certifi

        context.load_verify_locations(cafile=certifi.where())
    return context


def _environment_bundle() -> str | None:
    for variable in ENVIRONMENT_BUNDLES:
        value = os.environ.get(variable)
        if not value:
            continue
        if not Path(value).exists():
            raise UsageError(f"{variable} names no file: {value}")
        return value
    return None


def _default_directory() -> bool:
    """Whether OpenSSL has a certificate directory (loaded lazily, so not yet counted)."""
    directory = ssl.get_default_verify_paths().capath
    return bool(directory) and Path(directory).is_dir() and any(Path(directory).iterdir())
