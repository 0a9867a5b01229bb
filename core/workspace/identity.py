"""Visitor ids: random 128-bit tokens, a strict parser, and the key that names their data."""

from __future__ import annotations

import hashlib
import re
import secrets

from core.errors import LensError

_ID = re.compile(r"[0-9a-f]{32}")


def new_visitor_id() -> str:
    """A fresh id: 128 random bits as 32 lowercase hex characters (the UI keeps it in a cookie)."""
    return secrets.token_hex(16)


def parse_visitor_id(value: object) -> str:
    """The id itself when ``value`` is exactly what ``new_visitor_id`` makes; LensError otherwise."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise LensError("workspace.bad_visitor")
    return value


def visitor_key(visitor: str) -> str:
    """What rows and folders are named by: a hash of the id, so neither the database nor a
    folder listing hands out the cookie that opens a workspace. Filesystem-safe (hex)."""
    digest = hashlib.sha256(b"lora-lens-visitor:" + parse_visitor_id(visitor).encode()).hexdigest()
    return digest[:32]
