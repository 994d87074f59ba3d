"""The executor: do exactly what a reviewed plan says, item by item, and journal every step.

It never prompts and never plans: every URL it calls comes from the plan (or, for polling and
artifact bytes, from the service's answer to one). Exports run first (a copy before erasure),
then deletes in dependency order (services before the images they run, images before the models
in them, the workspace last). Before acting on an item it checks the item is still what the plan
saw; a changed item is skipped, never acted on. The journal is written before and after each side
effect, so a re-run after a crash resumes: finished items are not redone, and a delete whose
answer was lost is checked with a GET before it is sent again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from amlctl.apply.export.exporter import Exporter
from amlctl.apply.journal import (
    DELETE_ACCEPTED,
    DELETE_DONE,
    DELETE_SENT,
    EXPORT_DONE,
    FAILED,
    SKIPPED,
    Journal,
)
from amlctl.azure.client import Client, Reply, error_fields
from amlctl.canonical import fingerprint
from amlctl.catalog import Catalog, Kind
from amlctl.errors import ApiError
from amlctl.plan.model import Action, Change, Plan

# Deletes go in waves: what uses a thing goes before the thing (a model used by an image
# answers 412 DeletionRequired). Kinds not named here go in the middle wave; the scope kind
# (the workspace) always goes last, since it takes everything else with it.
_DELETE_WAVE = {"service": 0, "image": 1}
_MIDDLE_WAVE, _LAST_WAVE = 2, 3


@dataclass(frozen=True)
class Outcome:
    """What happened to one change; the receipt and the progress display read these."""

    address: str
    result: str  # exported | deleted | absent | skipped | blocked | failed
    status: int | None = None
    request_id: str | None = None
    detail: str = ""
    record: dict[str, Any] = field(default_factory=dict)  # export file, hashes


@dataclass
class ApplyResult:
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    interrupted: bool = False

    def count(self, result: str) -> int:
        return sum(1 for outcome in self.outcomes.values() if outcome.result == result)

    @property
    def complete(self) -> bool:
        """Nothing a re-run could still do: no failures, no interruption."""
        return not self.interrupted and self.count("failed") == 0


class Executor:
    def __init__(
        self,
        plan: Plan,
        catalog: Catalog,
        client: Client,
        journal: Journal,
        exporter: Exporter | None,
        *,
        parallelism: int = 10,
        on_outcome: Callable[[Change, Outcome], None] | None = None,
    ) -> None:
        self.plan, self.catalog, self.client = plan, catalog, client
        self.journal, self.exporter, self.parallelism = journal, exporter, parallelism
        self.on_outcome = on_outcome
        self._lock = threading.Lock()

    def run(self) -> ApplyResult:
        """Apply every change not yet finished in the journal; return what happened."""
        result = ApplyResult()
        exports = [c for c in self.plan.changes if c.action is Action.EXPORT]
        if self.exporter is not None:  # what killed runs exported is in the journal only
            self.exporter.resume(self.journal, (c.address for c in exports))
        try:
            self._run_wave(exports, self._export, result)
        finally:
            if self.exporter is not None:
                self.exporter.flush_index()
        # A copy before erasure: while any export is owed (failed; a re-run retries it), delete
        # nothing, since a delete may take that item, or the workspace holding it, for good.
        if result.interrupted or result.count("failed"):
            return result
        for wave in self._delete_waves():
            self._run_wave(wave, self._delete, result)
            # A later wave depends on this one (a model is blocked while an image in it still
            # exists): after a failure here, stop and leave the rest to the re-run, rather than
            # record a delete as blocked by what only failed for now.
            if result.interrupted or result.count("failed"):
                break
        return result

    def _delete_waves(self) -> list[list[Change]]:
        waves: list[list[Change]] = [[] for _ in range(_LAST_WAVE + 1)]
        for change in self.plan.changes:
            if change.action is Action.DELETE:
                kind = self.catalog.kind(change.kind)
                rank = _LAST_WAVE if kind.scope else _DELETE_WAVE.get(kind.name, _MIDDLE_WAVE)
                waves[rank].append(change)
        return [wave for wave in waves if wave]

    def _run_wave(
        self, changes: Iterable[Change], work: Callable[[Change], Outcome], result: ApplyResult
    ) -> None:
        todo = [c for c in changes if not self._finished(c, result)]
        pool = ThreadPoolExecutor(max_workers=self.parallelism, thread_name_prefix="apply")
        futures: dict[Future[Outcome], Change] = {pool.submit(work, c): c for c in todo}
        noted: set[Future[Outcome]] = set()
        try:
            # as_completed waits on each future once; polling wait() over the whole pending set
            # would cost O(items) per finished item.
            for future in as_completed(futures):
                noted.add(future)
                self._note(futures[future], future.result(), result)
        except KeyboardInterrupt:
            # Let requests already sent finish and be journaled; start nothing new.
            result.interrupted = True
            pool.shutdown(wait=True, cancel_futures=True)
            for future, change in futures.items():
                finished = future.done() and not future.cancelled()
                if finished and future not in noted and future.exception() is None:
                    self._note(change, future.result(), result)
        finally:
            pool.shutdown(wait=True)

    def _finished(self, change: Change, result: ApplyResult) -> bool:
        """An item a previous run finished: reported from the journal, not redone."""
        state = self.journal.state(change.address)
        if state is None or not state.terminal:
            return False
        outcome = _outcome_from_journal(change.address, state.event, dict(state.fields))
        self._note(change, outcome, result)
        return True

    def _note(self, change: Change, outcome: Outcome, result: ApplyResult) -> None:
        with self._lock:
            result.outcomes[change.address] = outcome
            if self.on_outcome is not None:
                self.on_outcome(change, outcome)

    # -- exports ----------------------------------------------------------------------------

    def _export(self, change: Change) -> Outcome:
        assert change.url is not None and change.file is not None and self.exporter is not None
        kind = self.catalog.kind(change.kind)
        try:
            reply, item = self._current(change, kind)
            if item is None:
                return self._skip(change, "gone-since-plan", reply)
            if _fingerprint(kind, item) != change.fingerprint:
                return self._skip(change, "changed-since-plan", reply)
            content = self._content(kind, item)
            record = self.exporter.export_item(
                change.address,
                change.file,
                self._exportable(kind, item),
                source_url=change.url,
                request_id=reply.request_id,
                fingerprint=change.fingerprint or "",
                content=content,
            )
        except ApiError as error:
            return self._fail(change, error)
        self.exporter.record(change.address, record)
        fields = {k: v for k, v in record.entry().items() if k != "request_id"}
        self.journal.append(
            EXPORT_DONE,
            change.address,
            status=reply.status,
            request_id=reply.request_id,
            **fields,
        )
        return Outcome(change.address, "exported", reply.status, reply.request_id, record=fields)

    def _current(self, change: Change, kind: Kind) -> tuple[Reply, dict[str, Any] | None]:
        """The item as it is now: by its get call, or found in its list (kinds with no get)."""
        assert change.url is not None
        if kind.can("get"):
            reply = self.client.get(change.url, expect=(200, 404))
            body = reply.body if reply.status == 200 and isinstance(reply.body, dict) else None
            return reply, body
        operation = kind.op("list")
        assert operation.paging is not None
        last: Reply | None = None
        for page, reply in self.client.pages_with_replies(change.url, operation.paging):
            last = reply
            for item in page:
                if str(item.get(kind.id_field)) == change.id:
                    return reply, item
        assert last is not None
        return last, None

    def _exportable(self, kind: Kind, item: dict[str, Any]) -> dict[str, Any]:
        """The item as exported: a content link keeps where the bytes were (as the service
        names it, not the emulator's address) but not its short-lived SAS, a credential."""
        field_name = kind.content_field
        link = item.get(field_name) if field_name else None
        if field_name is None or not isinstance(link, str):
            return item
        plain = urlsplit(self.client.target.unroute(link))._replace(query="")
        return {**item, field_name: urlunsplit(plain)}

    def _content(self, kind: Kind, item: dict[str, Any]) -> list[bytes] | None:
        link = item.get(kind.content_field) if kind.content_field else None
        if not isinstance(link, str) or not link:
            return None
        reply = self.client.download(self.client.target.unroute(link))
        body = reply.body if isinstance(reply.body, bytes) else b""
        return [body]

    # -- deletes ----------------------------------------------------------------------------

    def _delete(self, change: Change) -> Outcome:
        assert change.url is not None
        kind = self.catalog.kind(change.kind)
        operation = kind.op("delete")
        state = self.journal.state(change.address)
        in_flight = state.in_flight_event if state is not None else None
        try:
            if state is not None and in_flight == DELETE_ACCEPTED:
                # Accepted before a crash: poll the operation, never send the DELETE again.
                return self._finish_accepted(
                    change,
                    str(state.in_flight.get("poll_url", "")),
                    state.in_flight.get("via") == "location",
                    state.in_flight.get("request_id"),
                )
            planned = change.fingerprint or ""
            if_match = None
            if operation.if_match and planned.startswith("etag:") and in_flight is None:
                if_match = planned[len("etag:") :]
            else:
                # Also the rule after a DELETE whose answer was lost: look before sending again.
                check = self._still_as_planned(change, kind, after_unknown=in_flight == DELETE_SENT)
                if check is not None:
                    return check
            return self._send_delete(change, operation.statuses, if_match)
        except ApiError as error:
            return self._fail(change, error)

    def _still_as_planned(
        self, change: Change, kind: Kind, *, after_unknown: bool = False
    ) -> Outcome | None:
        """None when the item is as the plan saw it; else the outcome that ends it here."""
        assert change.url is not None
        reply = self.client.get(change.url, expect=(200, 404))
        if reply.status == 404:
            if after_unknown:
                return self._done(
                    change, "deleted", reply, "gone after a DELETE whose answer was lost"
                )
            return self._done(change, "absent", reply, "already gone")
        if not isinstance(reply.body, dict) or _fingerprint(kind, reply.body) != change.fingerprint:
            return self._skip(change, "changed-since-plan", reply)
        return None

    def _send_delete(
        self, change: Change, statuses: dict[int, str] | Any, if_match: str | None
    ) -> Outcome:
        assert change.url is not None
        self.journal.append(DELETE_SENT, change.address)
        reply = self.client.delete(change.url, expect=(*statuses, 404, 412), if_match=if_match)
        meaning = "absent" if reply.status == 404 else statuses.get(reply.status)
        if reply.status == 412:
            code, message = error_fields(reply.body)
            if code == "DeletionRequired" or statuses.get(412) == "blocked":
                return self._skip(change, "blocked", reply, message)
            return self._skip(change, "changed-since-plan", reply)
        if meaning == "accepted":
            return self._accepted(change, reply)
        return self._done(change, "deleted" if meaning == "deleted" else "absent", reply)

    def _accepted(self, change: Change, reply: Reply) -> Outcome:
        headers = {k.lower(): v for k, v in reply.headers.items()}
        link = headers.get("azure-asyncoperation") or headers.get("location")
        if not link:
            return self._done(change, "deleted", reply, "accepted")
        poll_url = self.client.target.unroute(link)
        self.journal.append(
            DELETE_ACCEPTED,
            change.address,
            status=reply.status,
            request_id=reply.request_id,
            poll_url=poll_url,
            via="azure-asyncoperation" if "azure-asyncoperation" in headers else "location",
        )
        return self._finish_accepted(
            change, poll_url, "azure-asyncoperation" not in headers, reply.request_id
        )

    def _finish_accepted(
        self, change: Change, poll_url: str, via_location: bool, request_id: str | None = None
    ) -> Outcome:
        final = self.client.poll(poll_url, via_location=via_location)
        state = str(final.body.get("status", "")) if isinstance(final.body, dict) else ""
        if state.lower() == "succeeded":
            return self._done(
                change, "deleted", final, "long-running delete succeeded", request_id=request_id
            )
        error = ApiError(
            "DELETE",
            change.url or "",
            final.status,
            state or "Failed",
            "the long-running delete did not succeed",
        )
        return self._fail(change, error)

    # -- journal + outcome ------------------------------------------------------------------

    def _done(
        self,
        change: Change,
        result: str,
        reply: Reply,
        detail: str = "",
        request_id: str | None = None,
    ) -> Outcome:
        rid = request_id or reply.request_id
        self.journal.append(
            DELETE_DONE,
            change.address,
            outcome=result,
            status=reply.status,
            request_id=rid,
            detail=detail,
        )
        return Outcome(change.address, result, reply.status, rid, detail)

    def _skip(self, change: Change, reason: str, reply: Reply, detail: str = "") -> Outcome:
        self.journal.append(
            SKIPPED,
            change.address,
            reason=reason,
            status=reply.status,
            request_id=reply.request_id,
            detail=detail,
        )
        result = "blocked" if reason == "blocked" else "skipped"
        return Outcome(
            change.address,
            result,
            reply.status,
            reply.request_id,
            reason + (f": {detail}" if detail else ""),
        )

    def _fail(self, change: Change, error: ApiError) -> Outcome:
        self.journal.append(
            FAILED, change.address, status=error.status, code=error.code, message=str(error)[:500]
        )
        return Outcome(change.address, "failed", error.status, None, str(error))


def _outcome_from_journal(address: str, event: str, fields: dict[str, Any]) -> Outcome:
    status = fields.get("status")
    request_id = fields.get("request_id")
    if event == EXPORT_DONE:
        record = {k: v for k, v in fields.items() if k not in ("status", "request_id")}
        return Outcome(address, "exported", status, request_id, record=record)
    if event == DELETE_DONE:
        return Outcome(
            address,
            str(fields.get("outcome", "deleted")),
            status,
            request_id,
            str(fields.get("detail", "")),
        )
    reason = str(fields.get("reason", ""))
    detail = str(fields.get("detail", ""))
    return Outcome(
        address,
        "blocked" if reason == "blocked" else "skipped",
        status,
        request_id,
        reason + (f": {detail}" if detail else ""),
    )


def _fingerprint(kind: Kind, item: dict[str, Any]) -> str:
    etag = item.get(kind.etag_field) if kind.etag_field else None
    return fingerprint(item, etag if isinstance(etag, str) else None)
