"""Safe expansion of catalog URL templates.

Every value fills exactly one path segment: it is percent-encoded, and values that would change
the shape of the URL are refused outright (empty, `.`, `..`, anything with `/` or `\\`, control
characters). HTTP clients remove dot segments, so `computes/..` would otherwise become a DELETE of
the workspace itself. `{location}` must be a DNS label, and the expanded host must be one the
catalog declares: the bearer token is an ARM credential and must go nowhere else.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from amlctl.catalog.model import Operation
from amlctl.errors import ExpandError

SCOPE_VARS = ("subscriptionId", "resourceGroupName", "workspaceName", "location")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_FORBIDDEN = re.compile(r"[/\\\x00-\x1f\x7f]")
_MISSING: Any = object()
_VARIABLE = re.compile(r"^\{([A-Za-z][A-Za-z0-9_]*)\}$")
# The characters quote(value, safe=":@") never encodes: its always-safe ones and the two safe.
_QUOTED_AS_IS = re.compile(r"[A-Za-z0-9_.~:@-]*")


def expand(operation: Operation, values: Mapping[str, str], hosts: Iterable[str]) -> str:
    """The https URL of `operation` with `values` filled in; ExpandError if that is unsafe."""
    template = _parsed(operation.url)
    where = f"{operation.kind}.{operation.name}"
    host = _expand_host(template.host, values, where)
    path = "/".join([
        literal if name is None else _expand_value(name, values, where)
        for literal, name in template.segments
    ])
    url = f"https://{host}{path}{template.query}"
    _check_shape(url, path, template.slashes, host, hosts, where)
    return url


@dataclass(frozen=True, slots=True)
class _Template:
    """A URL template taken apart once: the plan of a big workspace expands one per item."""

    host: str
    segments: tuple[tuple[str, str | None], ...]  # (literal, None) or ("", variable name)
    query: str  # "?..." or ""
    slashes: int  # in the path: an expanded URL must have as many


@cache
def _parsed(url: str) -> _Template:
    split = urlsplit(url)
    segments = []
    for segment in split.path.split("/"):
        match = _VARIABLE.match(segment)
        segments.append(("", match.group(1)) if match else (segment, None))
    query = f"?{split.query}" if split.query else ""
    return _Template(split.netloc, tuple(segments), query, split.path.count("/"))


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """Whether `host` is one of `patterns`, where `{location}` or `*` stands for one DNS label."""
    if isinstance(patterns, tuple):  # a catalog's: the answer is the same for every item
        return _host_allowed(host, patterns)
    return _host_allowed.__wrapped__(host, patterns)


@lru_cache(maxsize=256)
def _host_allowed(host: str, patterns: Iterable[str]) -> bool:
    host = host.lower()
    for pattern in patterns:
        glob = pattern.replace("{location}", "*")
        if fnmatch.fnmatchcase(host, glob) and host.count(".") == glob.count("."):
            return True
    return False


def _expand_host(template: str, values: Mapping[str, str], where: str) -> str:
    if "{location}" not in template:
        return template
    location = _value(values, "location", where).lower()
    if not _DNS_LABEL.fullmatch(location):
        raise ExpandError(f"{where}: location {location!r} is not a DNS label (e.g. eastus)")
    return template.replace("{location}", location)


def _expand_value(name: str, values: Mapping[str, str], where: str) -> str:
    """The path segment of one variable: its value, checked and percent-encoded."""
    value = _value(values, name, where)
    if value in ("", ".", ".."):
        raise ExpandError(
            f"{where}: {{{name}}} may not be {value!r}: it would change the URL's path"
        )
    if _QUOTED_AS_IS.fullmatch(value):  # most ids and names: nothing to refuse or encode
        return value
    if _FORBIDDEN.search(value):
        raise ExpandError(
            f"{where}: {{{name}}} = {value!r} contains '/', '\\' or a control "
            "character; one value must fill exactly one path segment"
        )
    return quote(value, safe=":@")


def _value(values: Mapping[str, str], name: str, where: str) -> str:
    # One lookup, not `in` and then `[]`: an item's values are a chain (inventory.Values).
    value = values.get(name, _MISSING)
    if value is _MISSING:
        raise ExpandError(f"{where}: no value for {{{name}}} in the URL template")
    if not isinstance(value, str):
        raise ExpandError(f"{where}: {{{name}}} must be a string, got {type(value).__name__}")
    return value


def _check_shape(
    url: str, path: str, slashes: int, host: str, hosts: Iterable[str], where: str
) -> None:
    """Belt and braces: the result has the template's host and number of path segments.

    The host is checked as urlsplit reads it once per host, not per URL: the rest of the URL
    is the path, and a path that keeps its slashes and holds no `?` or `#` is the path
    urlsplit would find in it."""
    if not _keeps_host(host):
        raise ExpandError(f"{where}: expanded URL {url!r} does not keep the template's host")
    if path.count("/") != slashes or "?" in path or "#" in path:
        raise ExpandError(f"{where}: expanded URL {url!r} has a different number of path segments")
    if not host_allowed(host, hosts):
        raise ExpandError(f"{where}: host {host!r} is not one of the catalog's hosts")


@lru_cache(maxsize=256)
def _keeps_host(host: str) -> bool:
    split = urlsplit(f"https://{host}/")
    return split.scheme == "https" and split.hostname == host and not split.port and (
        not split.username and split.path == "/"
    )


def values_of(operation: Operation, url: str) -> dict[str, str] | None:
    """The values `expand` filled into `operation`'s template to make `url`; None when `url`
    is not of that template's shape. The inverse of `expand`, for URLs a plan holds."""
    template = _parsed(operation.url)  # taken apart once per template, as `expand` does
    host, actual = template.host, urlsplit(url)
    values: dict[str, str] = {}
    if "{location}" in host:
        prefix, _, suffix = host.partition("{location}")
        found = actual.netloc
        if not (found.startswith(prefix) and found.endswith(suffix)):
            return None
        values["location"] = found[len(prefix) : len(found) - len(suffix)]
    elif actual.netloc != host:
        return None
    segments = actual.path.split("/")
    if len(template.segments) != len(segments):
        return None
    for (literal, variable), segment in zip(template.segments, segments, strict=True):
        if variable is not None:
            values[variable] = unquote(segment)
        elif literal != segment:
            return None
    return values

