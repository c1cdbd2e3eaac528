"""What a dead letter may keep of a rejected value: an allow-list, never a deny-list.

A rejected value can hold anything a producer put in it: a `memberId`, an `email`, an author
object with a name. Only the contract's own fields are kept (streaming/contracts.py: the envelope
and the payload fields of the event's type), as bounded scalars; the member id becomes its member
key, free text its length, and everything else is dropped and counted. The Kafka key is kept only
when it is the record's own community id; otherwise only its keyed digest is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from streaming.contracts import (
    ANY_PAYLOAD_FIELDS,
    COMMUNITY_ID_PATTERN,
    ENVELOPE_FIELDS,
    FREE_TEXT_FIELDS,
    PAYLOAD_FIELDS,
)
from streaming.privacy import Pseudonymizer

# Redacted copies bigger than this are not kept in Postgres (the DLQ topic has the original).
MAX_REDACTED_CHARS = 64 * 1024
MAX_KEPT_CHARS = 256  # per string: enough to diagnose, too little to smuggle a document
MAX_KEPT_ITEMS = 20  # per list (the contract's only list, `tags`, holds at most 20)
MEMBER_FIELD = "member_id"


@dataclass(frozen=True, slots=True)
class Redacted:
    """The redacted copy of a rejected value and the pseudonyms derived from it."""

    json: str | None
    member_key: str | None
    member_ref: str | None
    dropped_fields: int


class Redactor:
    """Builds redacted copies with the pseudonymizer's keys."""

    def __init__(self, pseudonymizer: Pseudonymizer) -> None:
        self._pseudonymizer = pseudonymizer

    def redact(self, parsed: dict[str, Any]) -> Redacted:
        """Keep the contract's fields of `parsed` (a JSON object), pseudonymized and bounded.

        Returns:
            The copy as jsonb-safe JSON text (None when it would exceed MAX_REDACTED_CHARS), the
            member key and member reference when a member id was present, and how many fields
            were dropped.
        """
        kept: dict[str, Any] = {}
        dropped = 0
        member_key = member_ref = None
        event_type = parsed.get("event_type")
        for name, value in parsed.items():
            if name == MEMBER_FIELD:
                member_id = _member_id(value)
                if member_id is None:
                    dropped += 1
                    continue
                member_key = self._pseudonymizer.member_key(
                    normalized_platform(parsed.get("platform")), member_id
                )
                member_ref = self._pseudonymizer.member_ref(member_id)
                kept["member_key"] = member_key
            elif name == "payload":
                if isinstance(value, dict):
                    kept["payload"], lost = _payload(value, event_type)
                    dropped += lost
                else:
                    # A payload that is no object may be anything (a string with an email):
                    # only its kind is diagnostic.
                    kept["payload"] = _kind(value)
            elif name in ENVELOPE_FIELDS:
                kept[name] = _scalar(value)
            else:
                dropped += 1
        if dropped:
            kept["dropped_fields"] = dropped
        try:
            encoded: str | None = jsonb_text(kept)
        except (ValueError, RecursionError):
            encoded = None
        if encoded is not None and len(encoded) > MAX_REDACTED_CHARS:
            encoded = None
        return Redacted(encoded, member_key, member_ref, dropped)

    def stored_key(self, key: bytes | None, parsed: Any) -> tuple[bytes | None, str | None]:
        """(message_key, message_key_hmac): the key as sent only when it is the record's own valid
        community id (what the contract says a key is), else only its keyed digest."""
        if key is None:
            return None, None
        community = parsed.get("community_id") if isinstance(parsed, dict) else None
        if (
            isinstance(community, str)
            and COMMUNITY_ID_PATTERN.match(community)
            and key == community.encode()
        ):
            return key, None
        return None, self._pseudonymizer.message_key_digest(key)


def _member_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def normalized_platform(value: Any) -> str | None:
    """The platform as the contract stores it (trimmed, lower case), so a dead letter's member
    key matches the member's rows; None when it is no string."""
    return value.strip().lower() if isinstance(value, str) else None


def _payload(payload: dict[str, Any], event_type: Any) -> tuple[dict[str, Any], int]:
    allowed = PAYLOAD_FIELDS.get(event_type) if isinstance(event_type, str) else None
    allowed = allowed or ANY_PAYLOAD_FIELDS
    kept: dict[str, Any] = {}
    dropped = 0
    for name, value in payload.items():
        if name in FREE_TEXT_FIELDS:
            kept[f"{name}_length"] = len(value) if isinstance(value, str) else None
        elif name in allowed:
            if isinstance(value, list):
                kept[name] = [_scalar(item) for item in value[:MAX_KEPT_ITEMS]]
            else:
                kept[name] = _scalar(value)
        else:
            dropped += 1
    return kept, dropped


def _scalar(value: Any) -> Any:
    """A bounded scalar; a nested value is replaced by its kind (it may hold anything)."""
    if isinstance(value, str):
        return clean_text(value)[:MAX_KEPT_CHARS]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _kind(value)


def _kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return f"<{names.get(type(value), 'number')}>"


def clean_text(value: str) -> str:
    """Text PostgreSQL accepts: no NUL, no lone surrogates."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


# jsonb refuses the escape \u0000 (an odd run of backslashes before "u0000" is an escape).
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def jsonb_text(value: Any) -> str:
    """JSON text jsonb accepts: NUL escapes and lone surrogates replaced."""
    encoded = clean_text(json.dumps(value, ensure_ascii=False))
    if "u0000" not in encoded:
        return encoded
    return _NUL_ESCAPE.sub(lambda m: m.group(1) + "\\ufffd", encoded)
