"""The HTTP client: host allow-list, bearer token, retries, paging and long-running operations.

Callers pass the real https URLs from the catalog. The client refuses to send the token anywhere
but the catalog's hosts, never follows redirects, retries what is safe to retry (connection
errors, timeouts, truncated bodies, 408/429/5xx) with jittered backoff that honours Retry-After,
and pages every list style to the end with a guard against links that repeat.
"""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from amlctl.azure.auth import TokenProvider
from amlctl.azure.breaker import Breaker
from amlctl.azure.hostlimit import HostLimits
from amlctl.azure.pacing import Pacer
from amlctl.azure.retry import MAX_RETRY_AFTER, RETRY_STATUSES, backoff_delays, retry_after
from amlctl.azure.target import Target
from amlctl.azure.transport import CutShort, NoAnswer, Transport, TransportError, Untrusted
from amlctl.catalog import Paging, host_allowed
from amlctl.errors import ApiError, AuthError

# Every TransportError but Untrusted is transient. NoAnswer (nothing listening, a reset, no
# answer in time) is what the breaker counts; a body cut short came from a host that is there.
_NOT_ACTED = frozenset({429, 503})  # answers that say the server did nothing
_LRO_TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}
# Request ids need to be unique, not secret: drawn from one seeded generator, not uuid4's
# os.urandom, which is a system call (and a GIL hand-off between the workers) per request.
_REQUEST_IDS = random.Random(uuid.uuid4().int)
SPOOL_IN_MEMORY = 1024 * 1024  # a download bigger than this waits in a temporary file
SPOOL_CHUNK = 256 * 1024


class RefusedLink(ApiError):
    """A link the service handed back (a poll or a download link) that the client will not
    follow: off the allowed hosts, not https, or not a URL. It fails the one item it came
    with; the rest of the run goes on."""


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, parsed. `body` is JSON when the service sent JSON, else raw bytes."""

    method: str
    url: str
    status: int
    headers: Mapping[str, str]
    body: Any
    request_id: str | None


@dataclass(frozen=True)
class PollLink:
    """A long-running operation's status URL (as the service names it, never the emulator's
    address) and whether it is a Location link (202 while running) or Azure-AsyncOperation."""

    url: str
    via_location: bool = False


@dataclass(frozen=True)
class Answer:
    """What a change got: the service's reply, and for a long-running operation the final
    reply of its poll (its body's `status` says Succeeded, Failed or Canceled)."""

    reply: Reply
    operation: Reply | None = None


@dataclass
class ClientStats:
    """Counters a progress display or a benchmark can read."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


def new_session(pool_size: int) -> Any:
    """A `requests.Session` sized for `pool_size` workers (kept here for older callers)."""
    from amlctl.azure.sessions import new_session as made

    return made(pool_size)


class Client:
    """Read, delete and poll through one transport (`transport.HttpTransport`, or a
    `requests.Session` with its mounted adapters); safe to share between threads."""

    def __init__(
        self,
        transport: Transport | Any,
        target: Target,
        tokens: TokenProvider,
        hosts: Iterable[str],
        content_hosts: Iterable[str] = (),
        *,
        attempts: int = 6,
        timeout: tuple[float, float] = (10.0, 60.0),
        poll_interval: float = 10.0,
        lro_timeout: float = 3600.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        pacer: Pacer | None = None,
        host_limits: HostLimits | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        self.transport, self.target, self.tokens = _as_transport(transport), target, tokens
        self.hosts, self.content_hosts = tuple(hosts), tuple(content_hosts)
        self.attempts, self.timeout = attempts, timeout
        self.poll_interval, self.lro_timeout = poll_interval, lro_timeout
        self.sleep, self.rng = sleep, rng or random.Random()
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()  # workers share the client; counts must not drop
        self.pacer = pacer or Pacer(sleep=sleep)
        self.host_limits = host_limits or HostLimits()
        self.breaker = breaker or Breaker()

    # -- public calls -------------------------------------------------------------------------

    def get(self, url: str, expect: Collection[int] = (200,)) -> Reply:
        """GET a catalog URL; a status outside `expect` (after retries) raises ApiError."""
        return self.request("GET", url, expect)

    def change(
        self,
        method: str,
        url: str,
        expect: Collection[int],
        *,
        if_match: str | None = None,
        accepted: Collection[int] = (),
        on_accepted: Callable[[PollLink, Reply], None] | None = None,
        json_body: Any = None,
    ) -> Answer:
        """Send a change (a DELETE, or the POST some services erase with) once the server has
        certainly not acted: only 429 and 503 are retried here; after a lost answer the caller
        must GET before sending again (the journal's rule).

        A status in `accepted` that names a poll link (Azure-AsyncOperation, else Location) is
        a long-running operation: `on_accepted` hears of it first, so the caller can journal
        the link before any wait, then it is polled to its end (`Answer.operation`)."""
        headers = {"If-Match": if_match} if if_match else {}
        reply = self.request(
            method, url, expect, headers, unsure_is_final=True, json_body=json_body
        )
        link = self.poll_link(reply) if reply.status in accepted else None
        if link is None:
            return Answer(reply)
        if on_accepted is not None:
            on_accepted(link, reply)
        return Answer(reply, self.poll(link, first_delay=retry_after(reply.headers)))

    def poll_link(self, reply: Reply) -> PollLink | None:
        """Where a long-running operation's progress is read: Azure-AsyncOperation (a status
        body) before Location (202 while running)."""
        headers = {key.lower(): value for key, value in reply.headers.items()}
        link = headers.get("azure-asyncoperation") or headers.get("location")
        if not link:
            return None
        return PollLink(self.target.unroute(link), "azure-asyncoperation" not in headers)

    def pages(
        self, url: str, paging: Paging, body: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list call, in order, until the service says there are no more.
        With `body`, the list is a POST of that JSON (run history's `:query` calls)."""
        for items, _ in self.pages_with_replies(url, paging, body):
            yield items

    def pages_with_replies(
        self, url: str, paging: Paging, body: Mapping[str, Any] | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], Reply]]:
        """Like `pages`, with the reply each page came in (for its request id)."""
        if paging.style == "next_link":
            yield from self._pages_by_link(url)
        elif paging.style == "body_token":
            yield from self._pages_by_token(url, paging.param or "continuationToken", body or {})
        else:
            yield from self._pages_by_token(url, paging.param or "continuationToken")

    def poll(self, link: PollLink, *, first_delay: float | None = None) -> Reply:
        """Poll a long-running operation until it ends; the last reply carries `status`
        (Succeeded, Failed or Canceled) in its body."""
        self._check_link(link.url, auth=True, what="poll")
        deadline = time.monotonic() + self.lro_timeout
        delay = first_delay
        while True:
            self.sleep(self.poll_interval if delay is None else min(delay, MAX_RETRY_AFTER))
            status = self.request("GET", link.url, (200, 202, 204))
            state = _lro_state(status, via_location=link.via_location)
            if state is not None:
                return _with_status(status, state)
            if time.monotonic() > deadline:
                raise ApiError("GET", _redact(link.url), status.status, "Timeout", "still running")
            delay = retry_after(status.headers)

    def download(self, url: str, into: BinaryIO | None = None) -> Reply:
        """GET bytes from a SAS URL on a content host; the SAS is the credential, no token sent.
        With `into` (a seekable file) the bytes go there in chunks, never whole in memory: a
        retry starts the file again, and the reply's body is None."""
        self._check_link(url, auth=False, what="download")
        return self.request("GET", url, (200,), auth=False, sink=into)

    def download_chunks(self, url: str) -> Iterator[bytes]:
        """`download`'s bytes in chunks, fetched now (errors raise here, retries done) and
        read later: held in memory up to a MiB, in a temporary file past that."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            self.download(url, into=spool)  # type: ignore[arg-type]
        except BaseException:
            spool.close()
            raise
        return _read_spool(spool)

    # -- the one place requests are sent --------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        expect: Collection[int],
        headers: Mapping[str, str] | None = None,
        *,
        auth: bool = True,
        unsure_is_final: bool = False,
        json_body: Any = None,
        sink: BinaryIO | None = None,
    ) -> Reply:
        """Send with retries. With `unsure_is_final`, an answer that leaves it unknown whether
        the server acted (lost connection, timeout, a 5xx other than 503) is raised at once."""
        body = None if json_body is None else json.dumps(json_body, allow_nan=False).encode()
        try:
            return self._request(
                method, url, expect, headers or {}, auth, unsure_is_final, body, sink
            )
        except ApiError as error:
            if self.target.endpoint is None or error.via is not None:
                raise
            raise error.sent_to(self.target.endpoint) from None

    def _request(
        self,
        method: str,
        url: str,
        expect: Collection[int],
        headers: Mapping[str, str],
        auth: bool,
        unsure_is_final: bool,
        body: bytes | None,
        sink: BinaryIO | None,
    ) -> Reply:
        host = self._check_destination(url, auth)
        retryable = _NOT_ACTED if unsure_is_final else RETRY_STATUSES
        delays = backoff_delays(rng=self.rng)
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            if self.breaker.is_open(host):  # redacting costs, so only for the message
                self.breaker.check(method, _redact(url), host)
            if sink is not None:
                sink.seek(0)
                sink.truncate()  # an attempt cut short leaves nothing behind
            try:
                reply = self._send_once(
                    method, url, host, headers, auth, body, sink, unsure_is_final
                )
            except Untrusted:
                # a certificate we do not trust stays untrusted however often we ask
                raise AuthError(
                    f"refusing {self.target.endpoint or _redact(url)}: its TLS certificate is "
                    "not trusted (for `emulator serve --tls`, set AMLCTL_CA_BUNDLE to the .pem "
                    "it printed)"
                ) from None
            except TransportError as error:
                if isinstance(error, NoAnswer):
                    self.breaker.failed(host, error.code)
                if last or unsure_is_final:
                    raise ApiError(
                        method, _redact(url), None, error.code, "no usable answer"
                    ) from None
                self._pause(next(delays), None, method, url, host)
                continue
            if reply.status in expect:
                return reply
            if reply.status not in retryable or last:
                raise _api_error(reply)
            self._pause(next(delays), retry_after(reply.headers), method, url, host)
        raise AssertionError("unreachable")

    def _send_once(
        self,
        method: str,
        url: str,
        host: str,
        headers: Mapping[str, str],
        auth: bool,
        body: bytes | None,
        sink: BinaryIO | None,
        unsure_is_final: bool,
    ) -> Reply:
        sent = {
            "Accept": "application/json",
            "x-ms-client-request-id": str(uuid.UUID(int=_REQUEST_IDS.getrandbits(128), version=4)),
            **headers,
        }
        if body is not None:
            sent["Content-Type"] = "application/json"
        if auth:
            sent["Authorization"] = f"Bearer {self.tokens.token()}"
        self.pacer.before(host, method)
        with self.host_limits.slot(host):
            raw = self.transport.send(
                method,
                self.target.route(url),
                sent,
                body,
                timeout=self.timeout,
                replayable=not unsure_is_final,  # the retry rules would send it again anyway
                sink=sink,
            )
        self.breaker.answered(host)
        self.pacer.after(host, method, raw.headers, raw.status)
        self._count(raw.status)
        headers_of = _Headers(raw.headers)
        return Reply(
            method,
            url,
            raw.status,
            raw.headers,
            _parse(raw.content, headers_of.get("content-type")),
            headers_of.get("x-ms-request-id") or None,
        )

    def _check_link(self, url: str, *, auth: bool, what: str) -> None:
        """A link from the service's answer, checked like any URL before a socket is opened;
        refused, it is an ApiError of the one item it belongs to, not the end of the run."""
        try:
            self._check_destination(url, auth)
        except AuthError as refused:
            try:
                shown = _redact(url[:300]) + ("…" if len(url) > 300 else "")
            except ValueError:
                shown = "(not a URL)"
            raise RefusedLink(
                "GET", shown, None, "RefusedLink", f"the service's {what} link: {refused}"
            ) from None

    def _check_destination(self, url: str, auth: bool) -> str:
        """The URL's host, once it is certain the request may go there."""
        try:
            split = urlsplit(url)
            port = split.port  # a port that is not a number raises here
        except ValueError:
            raise AuthError("refusing to call a link that is not a URL") from None
        allowed = self.hosts if auth else self.content_hosts
        if split.scheme != "https" or split.username or port or not split.hostname:
            raise AuthError(f"refusing to call {_redact(url)}: only https URLs of catalog hosts")
        if not host_allowed(split.hostname, allowed):
            which = "catalog hosts" if auth else "content hosts"
            raise AuthError(f"refusing to call {split.hostname}: not one of the {which}")
        return split.hostname

    def _pause(
        self, backoff: float, asked: float | None, method: str, url: str, host: str
    ) -> None:
        """Wait before a retry; no retry once some host is found unreachable (the command
        stops: a retry, or its wait, would only hold the stop up)."""
        with self._stats_lock:
            self.stats.retries += 1
        if asked is not None and asked > MAX_RETRY_AFTER:
            raise ApiError("", "", 429, "RetryAfterTooLong", f"server asked to wait {asked:.0f} s")
        delay = max(backoff, asked or 0.0)
        if self.sleep is time.sleep:  # real time: woken early when a host is found unreachable
            self.breaker.wait(delay)
        else:  # a test's clock
            self.sleep(delay)
        down = self.breaker.unreachable
        if down is not None:
            self.breaker.check(method, _redact(url), host)  # this request's own host: says so
            raise ApiError(
                method, _redact(url), None, "NotRetried",
                f"not retried: {down} is unreachable, so nothing more is sent",
            )

    def _count(self, status: int) -> None:
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
            if status == 429:
                self.stats.throttled += 1

    # -- paging -----------------------------------------------------------------------------------

    def _pages_by_link(self, url: str) -> Iterator[tuple[list[dict[str, Any]], Reply]]:
        seen = {url}
        while True:
            reply = self.get(url)
            yield _items(reply), reply
            link = reply.body.get("nextLink") if isinstance(reply.body, dict) else None
            if not link:
                return
            url = self.target.unroute(link)
            self._check_link(url, auth=True, what="next page")
            if url in seen:
                raise ApiError("GET", url, reply.status, "PagingLoop", "nextLink repeats itself")
            seen.add(url)

    def _pages_by_token(
        self, url: str, param: str, body: Mapping[str, Any] | None = None
    ) -> Iterator[tuple[list[dict[str, Any]], Reply]]:
        """Send the answer's continuationToken back: as query parameter `param` of a GET, or,
        with `body`, as field `param` of a POST list's JSON body (a read, retried like a GET)."""
        seen: set[str] = set()
        token: str | None = None
        method = "GET" if body is None else "POST"
        while True:
            if body is None:
                reply = self.get(url if token is None else _with_query(url, param, token))
            else:
                sent = dict(body) if token is None else {**body, param: token}
                reply = self.request("POST", url, (200,), json_body=sent)
            yield _items(reply), reply
            found = reply.body.get("continuationToken") if isinstance(reply.body, dict) else None
            if not found:
                return
            token = str(found)
            if token in seen:
                raise ApiError(method, reply.url, reply.status, "PagingLoop",
                               "token repeats itself")
            seen.add(token)


def _items(reply: Reply) -> list[dict[str, Any]]:
    body = reply.body
    if not isinstance(body, dict) or not isinstance(body.get("value", []), list):
        raise ApiError(reply.method, reply.url, reply.status, "BadEnvelope", "no `value` list")
    return [item for item in body.get("value", []) if isinstance(item, dict)]


def _with_query(url: str, name: str, value: str) -> str:
    split = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True) if k != name]
    return urlunsplit(split._replace(query=urlencode([*query, (name, value)])))


def _parse(content: bytes, content_type: str) -> Any:
    if not content:
        return None
    if "json" in content_type:
        try:
            return json.loads(content)
        except ValueError:
            # A body that claims JSON but does not parse was cut short: retry it.
            raise CutShort("ContentDecodingError", "truncated JSON body") from None
    return content


def _read_spool(spool: tempfile.SpooledTemporaryFile[bytes]) -> Iterator[bytes]:
    with spool:
        spool.seek(0)
        while chunk := spool.read(SPOOL_CHUNK):
            yield chunk


def _as_transport(given: Any) -> Transport:
    """A `requests.Session` (it has mounted adapters) is sent through; anything else is
    already a transport. Duck-typed so the http.client path never imports requests."""
    if hasattr(given, "get_adapter"):
        from amlctl.azure.sessions import SessionTransport

        return SessionTransport(given)
    transport: Transport = given
    return transport


class _Headers:
    """Case-insensitive reads of a reply's headers, lowered once."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._lowered = {key.lower(): value for key, value in headers.items()}

    def get(self, name: str) -> str:
        return self._lowered.get(name, "")


def _lro_state(reply: Reply, *, via_location: bool) -> str | None:
    if via_location:
        return None if reply.status == 202 else "Succeeded"
    status = str(reply.body.get("status", "")) if isinstance(reply.body, dict) else ""
    return status if status.lower() in _LRO_TERMINAL else None


def _with_status(reply: Reply, state: str) -> Reply:
    body = reply.body if isinstance(reply.body, dict) else {}
    return Reply(
        reply.method,
        reply.url,
        reply.status,
        reply.headers,
        {**body, "status": state},
        reply.request_id,
    )


def _api_error(reply: Reply) -> ApiError:
    code, message = error_fields(reply.body)
    return ApiError(reply.method, _redact(reply.url), reply.status, code, message)


def error_fields(body: Any) -> tuple[str, str]:
    """ARM and data plane wrap errors in {"error": {...}}; model management is flat."""
    if not isinstance(body, dict):
        return "", ""
    error = body.get("error")
    inner: dict[str, Any] = error if isinstance(error, dict) else body
    return str(inner.get("code", "")), str(inner.get("message", ""))[:500]


def _redact(url: str) -> str:
    """A URL fit for messages: SAS signatures and skip tokens dropped from the query."""
    # Not exporter.clean_source_url, on purpose: a message keeps each dropped parameter's name
    # (`sig=…`, `$skiptoken=…`) so whoever reads it can tell a SAS link or a later page from
    # the first call; the export index records evidence and keeps nothing but api-version.
    split = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(split.query) if k.lower() == "api-version"]
    hidden = [f"{quote(k)}=…" for k, _ in parse_qsl(split.query) if k.lower() != "api-version"]
    query = "&".join(filter(None, [urlencode(kept), *hidden]))
    return urlunsplit(split._replace(query=query))
