"""Choosing the target and its token together: Azure with azure-identity, or an emulator with
the emulator's fixed token. The two never mix."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from amlctl.azure.auth import AzureToken, StaticToken, TokenProvider
from amlctl.azure.client import Client
from amlctl.azure.hostlimit import HostLimits
from amlctl.azure.proxies import Proxies
from amlctl.azure.target import Connection, Target
from amlctl.azure.transport import HttpTransport
from amlctl.azure.trust import endpoint_verify, tls_context
from amlctl.catalog import Catalog
from amlctl.errors import UsageError

ENDPOINT_ENV = "AMLCTL_ENDPOINT"


@contextmanager
def open_client(
    catalog: Catalog, connection: Connection, *, poll_interval: float | None = None
) -> Iterator[Client]:
    """A client for the chosen target: `--emulator` (embedded, for this command only),
    `--endpoint`/AMLCTL_ENDPOINT (an emulator origin), or Azure."""
    if connection.parallelism < 1:
        raise UsageError("--parallelism must be at least 1")
    if connection.max_per_host is not None and connection.max_per_host < 1:
        raise UsageError("--max-per-host must be at least 1")
    endpoint = connection.endpoint or os.environ.get(ENDPOINT_ENV) or None
    if connection.emulator and endpoint:
        raise UsageError(f"--emulator and --endpoint (or {ENDPOINT_ENV}) cannot be used together")
    with ExitStack() as stack:
        tokens: TokenProvider
        if connection.emulator:
            from amlctl.emulator.commands import embedded

            target, tokens = (
                Target.at(stack.enter_context(embedded()), "emulator"),
                StaticToken(),
            )
        elif endpoint:
            target, tokens = Target.at(endpoint), StaticToken()
        else:
            target, tokens = Target("azure"), AzureToken()
        plain = target.endpoint is not None and target.endpoint.startswith("http://")
        transport = HttpTransport(
            connection.parallelism,
            # an https emulator's own certificate; none to load (tens of ms) for plain http
            None if plain else tls_context(endpoint_verify(target)),
            Proxies.from_environment(),
        )
        stack.callback(transport.close)
        interval = (
            poll_interval
            if poll_interval is not None
            else (10.0 if target.kind == "azure" else 0.2)
        )
        yield Client(
            transport,
            target,
            tokens,
            catalog.hosts,
            catalog.content_hosts,
            poll_interval=interval,
            host_limits=HostLimits(connection.max_per_host, total=connection.parallelism),
        )
