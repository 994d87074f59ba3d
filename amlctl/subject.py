"""Who the data subject is, and whether an item was created by them.

With a userObjectId, only the object id counts: display names are not unique, and a delete must
never reach a namesake. The userName is used only when the manifest gives no object id.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from amlctl.catalog import Kind
from amlctl.manifest import Request
from amlctl.userstate import pseudonym_key


@dataclass(frozen=True)
class SubjectMatcher:
    object_id: str | None
    user_name: str | None
    display_names: tuple[str, ...] = ()

    @classmethod
    def for_request(cls, request: Request | None) -> SubjectMatcher | None:
        if request is None:
            return None
        subject = request.subject
        return cls(
            subject.user_object_id.lower() if subject.user_object_id else None,
            subject.user_name,
            subject.names,
        )

    def matches(self, kind: Kind, fields: Mapping[str, Any]) -> bool:
        """Whether an item of `kind` names the subject as its creator.

        The kind's `subject.creator` lists the object-id path first, then the user-name path;
        kinds that reach the subject only through another kind never match here.
        """
        creator = kind.subject.creator if kind.subject else ()
        if not creator:
            return False
        if self.object_id is not None:
            found = fields.get(creator[0])
            return isinstance(found, str) and found.lower() == self.object_id
        if self.user_name is not None and len(creator) > 1:
            return fields.get(creator[1]) == self.user_name
        return False


    def candidate(self, kind: Kind, fields: Mapping[str, Any]) -> bool:
        """Whether an item of `kind` names the subject only by a display name: one of hers,
        created by a User (never an Application or a managed identity), and no object id on
        the item that says it is someone else's. A candidate is never proof."""
        link = kind.subject
        if link is None or link.display_name is None or self.matches(kind, fields):
            return False
        if link.creator and self.object_id is not None and fields.get(link.creator[0]):
            return False  # the item names its creator's object id, and it is not hers
        if link.creator_type is not None:
            creator_type = fields.get(link.creator_type)
            if not isinstance(creator_type, str) or creator_type.lower() != "user":
                return False
        return fields.get(link.display_name) in self.display_names


def pseudonym(request: Request, key: bytes | None = None) -> str:
    """A stable stand-in for the subject in plans and receipts, which are reviewed by people
    who need not know who the request is about.

    It is an HMAC under the user's pseudonym key (`userstate.pseudonym_key`), which never
    enters a plan: a plain hash of the request id and the object id would let anyone holding
    the plan test candidate object ids until one matched. Only whoever holds the key can tell
    whether a given person is the subject (by making a plan for them and comparing)."""
    subject = request.subject
    who = subject.user_object_id.lower() if subject.user_object_id else subject.user_name or ""
    secret = pseudonym_key() if key is None else key
    mac = hmac.new(secret, f"{request.id}\x00{who}".encode(), hashlib.sha256)
    return f"subject-{mac.hexdigest()[:12]}"
