"""The plan as a value: what `amlctl apply` will do, item by item.

A `Plan` is plain, frozen data. The planner builds it, `amlctl.plan.serialize` turns it into the
versioned plan document (format_version 1.1) and back, and the renderers read that document. The
executor acts on `Change.action`, `method`, `url`, `fingerprint` and `after` only; fields
documented as DISPLAY ONLY exist for reviewers and must never steer what apply does.
"""

from __future__ import annotations

import enum
from abc import abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from amlctl.azure.target import Target, TargetKind

__all__ = [
    "ACTION_ORDER",
    "Action",
    "CatalogRef",
    "Change",
    "ExportState",
    "InPlanOrder",
    "ManifestRef",
    "Method",
    "Plan",
    "RequestInfo",
    "Target",
    "TargetKind",
    "WorkspaceRef",
    "change_sort_key",
    "count_actions",
    "phase_of",
    "repeated",
]

ExportState = Literal["new", "changed"]
# The catalog chooses the HTTP method of each call; a change is anything but GET.
Method = Literal["GET", "DELETE", "POST"]


class Action(enum.Enum):
    """What happens to one item. The values are the wire strings of the plan file."""

    DELETE = "delete"
    # A delete the service would refuse, foreseen from the inventory: an item that uses this
    # one (an image holding a model) stays. Apply never sends it; the plan says what would
    # unblock it.
    BLOCKED = "blocked"
    # An item that names the data subject only by a display name (not unique): shown for a
    # person to review, never acted on; a selector with byDisplayName: true acts on them.
    CANDIDATE = "candidate"
    EXPORT = "export"
    ABSENT = "absent"  # a delete target that no longer exists, or a listed id not found
    UNCHANGED = "unchanged"  # an export whose destination copy is current
    MANUAL = "manual"  # a designer step with no API: apply only lists it


# The order changes are listed in, within a workspace: the destructive part first, so a reviewer
# reads what cannot be undone before anything else.
ACTION_ORDER: tuple[Action, ...] = (
    Action.DELETE,
    Action.BLOCKED,
    Action.CANDIDATE,
    Action.EXPORT,
    Action.ABSENT,
    Action.UNCHANGED,
    Action.MANUAL,
)
_ACTION_RANK = {action: rank for rank, action in enumerate(ACTION_ORDER)}


@dataclass(frozen=True, slots=True)
class Change:
    """One item of the plan and what apply does with it.

    Apply uses `action`, `method`, `url`, `check`, `body`, `fingerprint` (the staleness check),
    `file`, `long_running` and `after`. `name`, `reason`, `title` and `instructions` are DISPLAY
    ONLY.
    """

    workspace: str  # workspace name, one of Plan.workspaces
    kind: str  # catalog kind, e.g. "run", "model", "workspace"
    id: str  # the item id as the service knows it, e.g. "churn-model:1"
    action: Action
    # None for manual steps. Absent changes keep the method of their phase (DELETE for a delete
    # target, GET for an export): it tells the two apart, and it is part of the address.
    method: Method | None = None
    # The exact https URL apply calls, never with a token. None for manual steps, and for absent
    # items the planner could not address.
    url: str | None = None
    fingerprint: str | None = None  # "etag:<v>" or "sha256:<hex>"; None for absent/manual
    export_state: ExportState | None = None  # only for Action.EXPORT
    file: str | None = None  # export file, relative to Plan.export_to
    long_running: bool = False  # an ARM long-running operation (the workspace delete)
    # Deletes only: addresses of the deletes that must finish first (what uses this item, and
    # what lies under it), as the planner read them from the inventory and the catalog.
    after: tuple[str, ...] = ()
    # Deletes only: where apply and verify read the item, when that is not `url` (a run is read
    # from run history and deleted as an ARM job; a run's metrics are read from their list).
    check: str | None = None
    # Deletes only: the JSON body the call sends, where it sends one (the tag keys a tag delete
    # names); the plan holds it so a reviewer sees exactly what goes out.
    body: Any = field(default=None, hash=False)  # JSON: not hashable, so not in the hash
    # DISPLAY ONLY, deletes: what the delete leaves (soft | hard | irreversible), where the
    # catalog says; None where it does not.
    erasure: str | None = None
    name: str | None = None  # DISPLAY ONLY: the item's display name
    reason: str = ""  # DISPLAY ONLY: why the planner chose this action
    title: str | None = None  # DISPLAY ONLY: manual step title
    instructions: str | None = None  # DISPLAY ONLY: manual step instructions

    @property
    def phase(self) -> str:
        """The part of apply this change belongs to; see `phase_of`."""
        return phase_of(self.action, self.method)

    @property
    def address(self) -> str:
        """`<phase>:<workspace>/<kind>/<id>`, unique in a plan.

        The phase is part of the address because one item is often both exported and deleted
        (export before erasure), and an id listed in both selections may be absent from both.
        """
        return f"{self.phase}:{self.workspace}/{self.kind}/{self.id}"


def phase_of(action: Action, method: str | None) -> str:
    """"manual" for manual steps, "delete" for deletes, "export" for exports; an absent item
    keeps the method of its phase's call: GET for an export, anything else for a delete."""
    if action is Action.MANUAL:
        return "manual"
    if action in (Action.DELETE, Action.BLOCKED):
        return "delete"
    if action in (Action.ABSENT, Action.CANDIDATE) and method != "GET":
        return "delete"
    return "export"


def change_sort_key(change: Change) -> tuple[str, int, str, str, str]:
    """The one order of changes in a plan: workspace, action (see ACTION_ORDER), kind, id.

    The phase comes last only to break the tie between two absent changes of one item (one
    from each phase), so the order never depends on the order the planner produced them in;
    it orders them as their addresses would, without a new string per change of a big plan.
    """
    return (change.workspace, _ACTION_RANK[change.action], change.kind, change.id,
            change.phase)


@dataclass(frozen=True)
class ManifestRef:
    """The manifest the plan was made from: its path as given (posix), SHA-256 of its bytes."""

    path: str
    sha256: str


@dataclass(frozen=True)
class CatalogRef:
    """The endpoint catalog the URLs were expanded from: its name, the SHA-256 of its bytes,
    and its scope kind (the workspace), so renderers can warn of a whole workspace's delete."""

    name: str
    sha256: str
    scope_kind: str


@dataclass(frozen=True)
class RequestInfo:
    """The GDPR request a plan answers. The subject appears only as a pseudonym."""

    id: str
    received: date
    due: date
    pseudonym: str  # e.g. "subject-1a2b3c4d5e6f"; never the subject's identifiers


@dataclass(frozen=True)
class WorkspaceRef:
    """One Azure ML workspace the plan covers."""

    subscription_id: str
    resource_group: str
    workspace: str
    location: str

    def scope_values(self) -> dict[str, str]:
        """The catalog's scope variables for this workspace (as the manifest's Workspace)."""
        return {
            "subscriptionId": self.subscription_id,
            "resourceGroupName": self.resource_group,
            "workspaceName": self.workspace,
            "location": self.location,
        }


@dataclass(frozen=True)
class PlanHead:
    """What a plan says besides its changes, warnings and digest: the fields a `Plan` and a
    `reading.StoredPlan` (whose changes stay on disk) share.

    `created` is an RFC 3339 UTC timestamp "YYYY-MM-DDTHH:MM:SSZ" chosen by the planner (see
    `amlctl.plan.serialize.plan_timestamp`).
    """

    amlctl_version: str
    created: str
    name: str
    manifest: ManifestRef
    catalog: CatalogRef
    target: Target
    request: RequestInfo | None  # None for a workspace teardown
    workspaces: tuple[WorkspaceRef, ...]
    export_to: str | None
    max_deletes: int | None


class InPlanOrder(Sequence["Change"]):
    """Changes already in plan order (by `change_sort_key`, no address twice) that count their
    own actions and keep their own documents: a `Plan` takes them as they are, where it sorts
    any other sequence. `reading.StoredChanges`, on disk, is one: a big plan's changes are
    most of its memory. Equal to any sequence of the same changes, as a tuple of them is."""

    @abstractmethod
    def summary(self) -> dict[Action, int]:
        """How many changes there are of each action, in ACTION_ORDER, zeros included."""

    @abstractmethod
    def docs(self) -> Sequence[Any]:
        """The change documents, as the plan file holds them, each made when read."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to tuples, so not hashable


@dataclass(frozen=True)
class Plan(PlanHead):
    """A whole plan. `changes` is kept sorted by `change_sort_key`, whatever order it is given
    in (an `InPlanOrder` is in that order already, and is kept as it is).

    `warnings` is DISPLAY ONLY. `digest` is the plan file's digest once the plan was read from
    one (`serialize.from_doc`); "" before it is saved.
    """

    changes: Sequence[Change] = ()
    warnings: tuple[str, ...] = ()
    digest: str = field(default="", compare=False)
    _summary: dict[Action, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen: the normalised values are set once, here, and never again.
        if isinstance(self.changes, InPlanOrder):
            summary = self.changes.summary()
        else:
            changes = tuple(sorted(self.changes, key=change_sort_key))
            twice = repeated(change.address for change in changes)
            if twice:
                raise ValueError(f"duplicate change addresses: {', '.join(twice[:5])}")
            object.__setattr__(self, "changes", changes)
            summary = count_actions(changes)
        object.__setattr__(self, "workspaces", tuple(self.workspaces))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "_summary", summary)

    @property
    def summary(self) -> dict[Action, int]:
        """How many changes there are of each action (every action present, zeros included)."""
        return dict(self._summary)


def count_actions(changes: Iterable[Change]) -> dict[Action, int]:
    """Count changes by action, in ACTION_ORDER, zeros included."""
    counts = Counter(change.action for change in changes)
    return {action: counts[action] for action in ACTION_ORDER}


def repeated(values: Iterable[str]) -> list[str]:
    """The values found more than once, sorted."""
    counts = Counter(values)
    return sorted(value for value, count in counts.items() if count > 1)
