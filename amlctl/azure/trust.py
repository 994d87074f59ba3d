"""Which certificates amlctl trusts for an `--endpoint https://...` emulator.

The session ignores the environment (`trust_env = False`: no proxies or ~/.netrc credentials
slipped into requests), so `REQUESTS_CA_BUNDLE` does not reach it. An https endpoint is
verified against, in order: `AMLCTL_CA_BUNDLE` (a file), else, for a loopback endpoint, the
certificate `amlctl emulator serve --tls` keeps beside the default database when it exists,
else the system's certificates. Verification is never turned off.
"""

from __future__ import annotations

import ipaddress
import os
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
