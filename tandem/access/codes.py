"""Invitation codes and guest session ids: random, URL-safe, stored only as keyed hashes.

A code carries 192 random bits (``secrets``), written as 32 base64url characters. The
database keeps HMAC-SHA256(server key, purpose + code): without the key (kept outside the
database, see :func:`load_or_create_key`) a stolen database cannot be used to test
guesses offline. Input is format-checked before any lookup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

__all__ = [
    "KEY_BYTES",
    "TOKEN_LENGTH",
    "hash_code",
    "hash_session",
    "is_well_formed",
    "load_or_create_key",
    "new_code",
    "new_key",
    "new_session_id",
    "room_token",
    "same_hash",
]

TOKEN_BYTES = 24  # 192 bits
TOKEN_LENGTH = 32  # base64url characters for TOKEN_BYTES, no padding
KEY_BYTES = 32
_TOKEN_RE = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")


def new_code() -> str:
    """A fresh invitation code."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_session_id() -> str:
    """A fresh guest session id (for the guest's HttpOnly cookie)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_well_formed(token: object) -> bool:
    """Exactly 32 base64url characters; anything else is rejected before any lookup."""
    return isinstance(token, str) and _TOKEN_RE.fullmatch(token) is not None


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < KEY_BYTES:
        raise ValueError(f"the server key must be at least {KEY_BYTES} bytes")


def _digest(key: bytes, purpose: bytes, token: str) -> str:
    _check_key(key)
    if not is_well_formed(token):
        raise ValueError("malformed token")
    return hmac.new(key, purpose + b"\0" + token.encode("ascii"), hashlib.sha256).hexdigest()


def hash_code(key: bytes, code: str) -> str:
    """The stored form of an invitation code."""
    return _digest(key, b"tandem-invitation", code)


def hash_session(key: bytes, session_id: str) -> str:
    """The stored form of a guest session id (a different purpose than codes)."""
    return _digest(key, b"tandem-session", session_id)


def room_token(key: bytes, session_hash: str) -> str:
    """The token a guest's editor page sends with its room sockets: bound to the guest's
    session (by its stored hash) and to this purpose. It is only ever written into the
    editor page, so a page that can send the guest's cookie but not read Tandem's page
    cannot open a room as that guest."""
    _check_key(key)
    data = b"tandem-room-token\0" + session_hash.encode("ascii")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two stored hashes."""
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


def _seal_keys(key: bytes) -> tuple[bytes, bytes]:
    """Two keys derived from the server key: one hides a code, one authenticates it."""
    _check_key(key)
    derive = lambda purpose: hmac.new(key, purpose, hashlib.sha256).digest()  # noqa: E731
    return derive(b"tandem-code-seal-encrypt"), derive(b"tandem-code-seal-mac")


def seal_code(key: bytes, invitation_id: str, code: str) -> str:
    """``code`` encrypted for storage, so the owner's API can show a link again: a one-use
    HMAC-SHA256 keystream (random nonce) XOR the code's 24 bytes, then an HMAC tag over
    the invitation id, nonce and ciphertext (encrypt-then-MAC; a sealed code moved to
    another invitation does not open). Without the server key it reveals nothing."""
    if not is_well_formed(code):
        raise ValueError("malformed code")
    enc_key, mac_key = _seal_keys(key)
    raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    nonce = secrets.token_bytes(16)
    stream = hmac.new(enc_key, nonce, hashlib.sha256).digest()[: len(raw)]
    sealed = nonce + bytes(a ^ b for a, b in zip(raw, stream, strict=True))
    tag = hmac.new(mac_key, invitation_id.encode() + b"\0" + sealed, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(sealed + tag).decode("ascii")


def unseal_code(key: bytes, invitation_id: str, sealed: str) -> str | None:
    """The code :func:`seal_code` sealed for this invitation, or None if it does not open."""
    enc_key, mac_key = _seal_keys(key)
    try:
        blob = base64.urlsafe_b64decode(sealed.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    if len(blob) != 16 + TOKEN_BYTES + 32:
        return None
    body, tag = blob[:-32], blob[-32:]
    want = hmac.new(mac_key, invitation_id.encode() + b"\0" + body, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, want):
        return None
    nonce, cipher = body[:16], body[16:]
    stream = hmac.new(enc_key, nonce, hashlib.sha256).digest()[: len(cipher)]
    raw = bytes(a ^ b for a, b in zip(cipher, stream, strict=True))
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def load_or_create_key(path: str | Path) -> bytes:
    """The server key kept in its own file (mode 0600), never in the database."""
    path = Path(path)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = new_key()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race: use its key
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
    _check_key(key)
    return key
