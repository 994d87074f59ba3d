"""The executor: do exactly what a reviewed plan says, item by item, and journal every step.

It never prompts and never plans: every URL it calls comes from the plan (or, for polling and
artifact bytes, from the service's answer to one). Exports run first (a copy before erasure),
then deletes, each once the deletes the plan says it comes `after` are done (the planner read
that order from the catalog: users before what they use, the workspace last); a delete whose
predecessor did not succeed is held back, and nothing else is. Before acting on an item it
checks the item is still what the plan saw; a changed item is skipped, never acted on. The
journal is written before and after each side effect, so a re-run after a crash resumes: finished
items are not redone, and a delete whose answer was lost is checked with a GET before it is sent
again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import partial
from queue import SimpleQueue
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from amlctl.apply import lookup
from amlctl.apply.export.exporter import Exporter
from amlctl.apply.journal import (
    DELETE_ACCEPTED,
    DELETE_DONE,
    DELETE_SENT,
    EXPORT_DONE,
    FAILED,
    SKIPPED,
    STOPPED,
    Journal,
)
from amlctl.apply.listcheck import ListCheck, SharedLists
from amlctl.apply.outcomes import DONE, ApplyResult, Outcome, Result
from amlctl.azure.client import Client, PollLink, Reply, error_fields
from amlctl.catalog import Catalog, Kind
from amlctl.errors import ApiError
from amlctl.plan.model import Action, Change
from amlctl.plan.reading import PlanView, changes_of, indexed

_Pair = tuple[int, Change]  # a change and its index in the plan

# After Ctrl-C, how long requests already in flight may take to answer before apply stops
# waiting for them (their read timeout is a minute).
INTERRUPT_GRACE = 5.0


class Executor:
    def __init__(
        self,
        plan: PlanView,
        catalog: Catalog,
        client: Client,
        journal: Journal,
        exporter: Exporter | None,
        *,
        parallelism: int = 10,
        on_outcome: Callable[[Change, Outcome], None] | None = None,
        list_from: int | None = None,  # items per collection that make it listed; see listcheck
    ) -> None:
        self.plan, self.catalog, self.client = plan, catalog, client
        self.journal, self.exporter, self.parallelism = journal, exporter, parallelism
        self._resuming = journal.has_items  # before this run writes a record of its own
        self.on_outcome = on_outcome
        if exporter is not None:  # what the journal makes durable, its files' names are first
            journal.before_sync = exporter.sync
        deletes = changes_of(plan, Action.DELETE)
        # Exports only: workers beyond the requests in flight write files while those wait on
        # the network (a list's items are written from one answer); only where the client
        # itself holds the requests to `parallelism`.
        # None at --parallelism 1, which stays one item at a time, in order.
        spare = parallelism // 2 if client.host_limits.caps_total_at(parallelism) else 0
        self.workers = parallelism + spare
        self.listed = ListCheck(catalog, client, plan.workspaces, deletes, list_from=list_from)
        self.shared = SharedLists(catalog, indexed(plan, Action.EXPORT), list_from=list_from)
        self._lock = threading.Lock()

    def run(self) -> ApplyResult:
        """Apply every change not yet finished in the journal; return what happened."""
        summary = self.plan.summary
        planned = sum(summary[action] for action in (Action.EXPORT, Action.DELETE, *_NOT_ACTED_ON))
        result = ApplyResult(len(self.plan.changes), planned)
        for pair in indexed(self.plan, *_NOT_ACTED_ON):  # never sent: the service would refuse
            self._note(pair, _foreseen(pair[1]), result)
        try:
            if self.exporter is not None and self.journal.has_items:
                # What killed runs exported is in the journal only.
                exports = changes_of(self.plan, Action.EXPORT)
                self.exporter.resume(self.journal, (c.address for c in exports))
            in_order = self.shared.in_list_order(
                indexed(self.plan, Action.EXPORT), self.plan.changes, self.parallelism
            )
            self._run_streamed(in_order, self._export, result)
            self.journal.sync()  # every export on disk before the first DELETE goes out
            # A copy before erasure: while any export is owed (failed; a re-run retries it),
            # delete nothing, since a delete may take that item, or its workspace, for good.
            if not (result.interrupted or result.count(Result.FAILED)):
                self._run_ordered(indexed(self.plan, Action.DELETE), self._delete, result)
        except KeyboardInterrupt:  # between two items: nothing is in flight
            result.interrupted = True
        finally:
            self.journal.sync()  # the group commit's last batch, before the index lists it
            if self.exporter is not None:
                try:
                    self.exporter.flush_index()
                finally:
                    self.exporter.close()
        result.unreachable = self.client.breaker.unreachable
        if result.unreachable is not None:
            self.journal.append(STOPPED, host=result.unreachable, reason="unreachable")
        return result

    def _run_streamed(
        self, pairs: Iterator[_Pair], work: Callable[[Change], Outcome], result: ApplyResult
    ) -> None:
        """Run `work` on each change (none comes `after` another), read from the plan only as
        the pool takes them. Finished items come from the journal, not redone."""
        pending = (pair for pair in pairs if not self._finished(pair, result))
        self._drive(lambda: next(pending, None), work, result, lambda address: None, self.workers)

    def _run_ordered(
        self, pairs: Iterable[_Pair], work: Callable[[Change], Outcome], result: ApplyResult
    ) -> None:
        """Run `work` on each change once the changes it comes `after` are done. The deletes
        and their order are held in memory: a plan deletes far fewer items than it exports."""
        todo = {pair[1].address: pair for pair in pairs if not self._finished(pair, result)}
        waiting = {a: sum(1 for b in c.after if b in todo) for a, (_, c) in todo.items()}
        followers: dict[str, list[str]] = {}
        for address, (_, change) in todo.items():
            for before in change.after:
                followers.setdefault(before, []).append(address)
        ready = deque(pair for address, pair in todo.items() if waiting[address] == 0)

        def settle(address: str) -> None:
            for follower in followers.get(address, ()):
                waiting[follower] -= 1
                if waiting[follower] == 0:
                    ready.append(todo[follower])

        # Deletes write no files: no spare workers, which would journal a DELETE as sent and
        # then wait for a slot to send it in.
        self._drive(
            lambda: ready.popleft() if ready else None, work, result, settle, self.parallelism
        )

    def _drive(
        self,
        ready: Callable[[], _Pair | None],
        work: Callable[[Change], Outcome],
        result: ApplyResult,
        settle: Callable[[str], None],
        workers: int,
    ) -> None:
        """Run `work` on each change `ready` gives, `workers` at a time, with as many more
        queued: the pool never holds the plan, only what it works on next."""
        finished: SimpleQueue[tuple[_Pair, Future[Outcome]]] = SimpleQueue()
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply")
        running: dict[Future[Outcome], _Pair] = {}
        try:
            while True:
                while len(running) < 2 * workers and (pair := ready()) is not None:
                    refused = self._not_startable(pair[1], result)
                    if refused is not None:
                        self._note(pair, refused, result)
                        settle(pair[1].address)
                        continue
                    future = pool.submit(work, pair[1])
                    running[future] = pair
                    future.add_done_callback(partial(_hand_back, finished, pair))
                if not running:
                    break
                pair, future = finished.get()
                del running[future]
                self._note(pair, future.result(), result)
                settle(pair[1].address)
        except KeyboardInterrupt:
            result.interrupted = True
            self._stop(pool, running, result)
        finally:
            pool.shutdown(wait=not result.interrupted, cancel_futures=True)

    def _not_startable(self, change: Change, result: ApplyResult) -> Outcome | None:
        """Why `change` is not sent at all: the service is gone (stop, do not spend retries on
        each item), or a delete it comes after did not succeed."""
        down = self.client.breaker.unreachable
        if down is not None:
            return _not_attempted(change, down)
        held = next((b for b in change.after if result.result_of(b) not in DONE), None)
        if held is not None:
            return _held(change, held, result.result_of(held))
        return None

    def _stop(
        self,
        pool: ThreadPoolExecutor,
        running: Mapping[Future[Outcome], _Pair],
        result: ApplyResult,
    ) -> None:
        """Ctrl-C: start nothing new, give the requests in flight a short while to answer and
        be journaled, and leave the rest: the journal says what was sent, so a re-run checks
        those before acting again."""
        pool.shutdown(wait=False, cancel_futures=True)
        done, left = wait(running, timeout=INTERRUPT_GRACE)
        for future in done:
            if not future.cancelled() and future.exception() is None:
                self._note(running[future], future.result(), result)
        result.abandoned = len(left)

    def _finished(self, pair: _Pair, result: ApplyResult) -> bool:
        """An item a previous run finished: reported from the journal, not redone."""
        if not self._resuming:  # no earlier run named an item: none to look up, nor its lock
            return False
        address = pair[1].address
        state = self.journal.state(address)
        if state is None or not state.terminal:
            return False
        self._note(pair, _outcome_from_journal(address, state.event, state.fields), result)
        return True

    def _note(self, pair: _Pair, outcome: Outcome, result: ApplyResult) -> None:
        index, change = pair
        with self._lock:
            result.note(index, outcome, delete=change.action is Action.DELETE)
            if self.on_outcome is not None:
                self.on_outcome(change, outcome)

    # -- exports ----------------------------------------------------------------------------

    def _export(self, change: Change) -> Outcome:
        assert change.url is not None and change.file is not None and self.exporter is not None
        kind = self.catalog.kind(change.kind)
        try:
            listed = self.shared.list_of(change)  # one listing for all the exports sharing it
            if listed is not None:
                reply, item = self.shared.item(self.client, change, kind, listed)
            else:
                reply, item = lookup.current(self.client, kind, change)
            if item is None:
                return self._skip(change, "gone-since-plan", reply)
            if kind.fingerprint(item) != change.fingerprint:
                return self._skip(change, "changed-since-plan", reply)
            content = self._content(kind, item)
            record = self.exporter.export_item(
                change.address,
                change.file,
                self._exportable(kind, item),
                source_url=listed or change.url,  # where it was read: its list, if from one
                request_id=reply.request_id,
                fingerprint=change.fingerprint or "",
                content=content,
            )
        except ApiError as error:
            return self._fail(change, error)
        fields = {k: v for k, v in record.entry().items() if k != "request_id"}
        self.journal.append(  # group commit: a lost export-done line only means export again
            EXPORT_DONE,
            change.address,
            durable=False,
            status=reply.status,
            request_id=reply.request_id,
            **fields,
        )
        # Into the index only once journaled: the journal is what a resumed run rebuilds it from.
        self.exporter.record(change.address, record)
        return Outcome(
            change.address, Result.EXPORTED, reply.status, reply.request_id, record=fields
        )

    def _exportable(self, kind: Kind, item: dict[str, Any]) -> dict[str, Any]:
        """The item as exported: a content link keeps where the bytes were (as the service
        names it, not the emulator's address) but not its short-lived SAS, a credential."""
        field_name = kind.content_field
        link = item.get(field_name) if field_name else None
        if field_name is None or not isinstance(link, str):
            return item
        plain = urlsplit(self.client.target.unroute(link))._replace(query="")
        return {**item, field_name: urlunsplit(plain)}

    def _content(self, kind: Kind, item: dict[str, Any]) -> Iterable[bytes] | None:
        link = item.get(kind.content_field) if kind.content_field else None
        if not isinstance(link, str) or not link:
            return None
        return self.client.download_chunks(self.client.target.unroute(link))  # never whole

    # -- deletes ----------------------------------------------------------------------------

    def _delete(self, change: Change) -> Outcome:
        assert change.url is not None
        kind = self.catalog.kind(change.kind)
        state = self.journal.state(change.address)
        in_flight = state.in_flight_event if state is not None else None
        try:
            if state is not None and in_flight == DELETE_ACCEPTED:
                # Accepted before a crash: poll the operation, never send the DELETE again.
                link = PollLink(
                    str(state.in_flight.get("poll_url", "")),
                    state.in_flight.get("via") == "location",
                )
                operation = self.client.poll(link)
                return self._operation_done(change, operation, state.in_flight.get("request_id"))
            planned = change.fingerprint or ""
            if_match = None
            if kind.op("delete").if_match and planned.startswith("etag:") and in_flight is None:
                if_match = planned[len("etag:") :]
            else:
                check = self._check_before_delete(change, kind, in_flight)
                if check is not None:
                    return check
            return self._send_delete(change, kind, if_match)
        except ApiError as error:
            return self._fail(change, error)

    def _check_before_delete(
        self, change: Change, kind: Kind, in_flight: str | None
    ) -> Outcome | None:
        """None when the item is as the plan saw it: read from its collection's list where
        many of its items go (one list for them all), else by its own GET."""
        listed = self.listed.find(change) if in_flight is None else None
        if listed is not None:
            if listed.fingerprint == change.fingerprint:
                return None
            return self._skip(change, "changed-since-plan", listed.reply)
        # Also the rule after a DELETE whose answer was lost: look before sending again.
        return self._still_as_planned(change, kind, after_unknown=in_flight == DELETE_SENT)

    def _still_as_planned(
        self, change: Change, kind: Kind, *, after_unknown: bool = False
    ) -> Outcome | None:
        """None when the item is as the plan saw it; else the outcome that ends it here."""
        reply, body = lookup.current(self.client, kind, change)
        if body is None:
            if after_unknown:
                return self._done(
                    change, Result.DELETED, reply, "gone after a DELETE whose answer was lost"
                )
            return self._done(change, Result.ABSENT, reply, "already gone")
        if kind.fingerprint(body) != change.fingerprint:
            return self._skip(change, "changed-since-plan", reply)
        return None

    def _send_delete(self, change: Change, kind: Kind, if_match: str | None) -> Outcome:
        assert change.url is not None and change.method is not None
        statuses = kind.op("delete").statuses
        self.journal.append(DELETE_SENT, change.address)
        answer = self.client.change(
            change.method,
            change.url,
            expect=(*statuses, 404, 412),
            if_match=if_match,
            accepted=[status for status, meaning in statuses.items() if meaning == "accepted"],
            on_accepted=lambda link, reply: self._journal_accepted(change, link, reply),
            json_body=change.body,
        )
        reply = answer.reply
        if answer.operation is not None:
            return self._operation_done(change, answer.operation, reply.request_id)
        meaning = "absent" if reply.status == 404 else statuses.get(reply.status)
        code, message = error_fields(reply.body)
        if meaning == "blocked" or code == "DeletionRequired":  # in use: the catalog says so
            return self._skip(change, "blocked", reply, message)
        if reply.status == 412:  # If-Match failed: the item is not the one planned
            return self._skip(change, "changed-since-plan", reply)
        if meaning == "accepted":  # accepted with no operation to follow: the service's word
            return self._done(change, Result.DELETED, reply, "accepted")
        return self._done(change, Result.DELETED if meaning == "deleted" else Result.ABSENT, reply)

    def _journal_accepted(self, change: Change, link: PollLink, reply: Reply) -> None:
        """A long-running delete was accepted: its poll link goes on disk before any wait, so a
        re-run after a crash polls it instead of sending the DELETE again."""
        self.journal.append(
            DELETE_ACCEPTED,
            change.address,
            status=reply.status,
            request_id=reply.request_id,
            poll_url=link.url,
            via="location" if link.via_location else "azure-asyncoperation",
        )

    def _operation_done(self, change: Change, final: Reply, request_id: str | None) -> Outcome:
        state = str(final.body.get("status", "")) if isinstance(final.body, dict) else ""
        if state.lower() == "succeeded":
            return self._done(
                change,
                Result.DELETED,
                final,
                "long-running delete succeeded",
                request_id=request_id,
            )
        error = ApiError(
            change.method or "DELETE",
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
        result: Result,
        reply: Reply,
        detail: str = "",
        request_id: str | None = None,
    ) -> Outcome:
        rid = request_id or reply.request_id
        self.journal.append(
            DELETE_DONE,
            change.address,
            outcome=result.value,
            status=reply.status,
            request_id=rid,
            detail=detail,
        )
        return Outcome(change.address, result, reply.status, rid, detail)

    def _skip(self, change: Change, reason: str, reply: Reply, detail: str = "") -> Outcome:
        self.journal.append(
            SKIPPED,
            change.address,
            durable=change.action is not Action.EXPORT,  # an export lost is checked again
            reason=reason,
            status=reply.status,
            request_id=reply.request_id,
            detail=detail,
        )
        return Outcome(
            change.address,
            Result.BLOCKED if reason == "blocked" else Result.SKIPPED,
            reply.status,
            reply.request_id,
            reason + (f": {detail}" if detail else ""),
        )

    def _fail(self, change: Change, error: ApiError) -> Outcome:
        self.journal.append(
            FAILED,
            change.address,
            durable=change.action is not Action.EXPORT,
            status=error.status,
            code=error.code,
            message=str(error)[:500],
        )
        return Outcome(change.address, Result.FAILED, error.status, None, str(error))


# Planned, yet never acted on: a delete the service would refuse, an item that names the subject
# by display name only. They count as not done, so no receipt of such a plan says "complete".
_NOT_ACTED_ON = (Action.BLOCKED, Action.CANDIDATE)


def _foreseen(change: Change) -> Outcome:
    if change.action is Action.CANDIDATE:
        return Outcome(change.address, Result.NOT_DONE, detail=f"candidate: {change.reason}")
    return Outcome(change.address, Result.BLOCKED, detail=f"blocked in the plan: {change.reason}")


def _hand_back(
    queue: SimpleQueue[tuple[_Pair, Future[Outcome]]], pair: _Pair, future: Future[Outcome]
) -> None:
    queue.put((pair, future))  # in the worker, or at once when the future is already done


def _not_attempted(change: Change, host: str) -> Outcome:
    """Not journaled, like a held item: a re-run tries it once the service answers again."""
    return Outcome(change.address, Result.NOT_DONE, detail=f"not attempted: {host} is unreachable")


def _held(change: Change, before: str, why: Result) -> Outcome:
    """A delete not attempted because one it comes after did not succeed. Not journaled: a
    re-run tries it again once that one is done."""
    return Outcome(change.address, Result.NOT_DONE, detail=f"held back: {before} was {why.value}")


def _outcome_from_journal(address: str, event: str, fields: Mapping[str, Any]) -> Outcome:
    status = fields.get("status")
    request_id = fields.get("request_id")
    if event == EXPORT_DONE:
        record = {k: v for k, v in fields.items() if k not in ("status", "request_id")}
        return Outcome(address, Result.EXPORTED, status, request_id, record=record)
    if event == DELETE_DONE:
        return Outcome(
            address,
            Result(str(fields.get("outcome", "deleted"))),
            status,
            request_id,
            str(fields.get("detail", "")),
        )
    reason = str(fields.get("reason", ""))
    detail = str(fields.get("detail", ""))
    return Outcome(
        address,
        Result.BLOCKED if reason == "blocked" else Result.SKIPPED,
        status,
        request_id,
        reason + (f": {detail}" if detail else ""),
    )
