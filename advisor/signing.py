"""The server's secret and what it signs: values the server hands a browser to give back (the page's conversation id),
which a browser must not be able to make up. The secret itself is never sent anywhere.

It comes from ``ADVISOR_SECRET`` (or the file named by ``ADVISOR_SECRET_FILE``); without either, one is generated
once for the conversation database and stored in it, so every process and replica of one database shares it and it
survives restarts (an in-memory database gets one per process)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_ENV = "ADVISOR_SECRET"
SECRET_FILE_ENV = "ADVISOR_SECRET_FILE"
MIN_SECRET_CHARS = 16
SECRET_BYTES = 32
_MAC_BYTES = 16  # 128 bits of HMAC-SHA256 per signed value


def configured_secret() -> bytes | None:
    """The operator's secret (ADVISOR_SECRET_FILE's contents, else ADVISOR_SECRET) as key bytes; None if neither is
    set. ValueError names the setting when it is too short or the file cannot be read."""
    value, where = os.environ.get(SECRET_ENV) or "", SECRET_ENV
    path = os.environ.get(SECRET_FILE_ENV)
    if path:
        where = f"{SECRET_FILE_ENV} ({path})"
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{where} cannot be read ({type(exc).__name__}: {exc})") from None
    if not value:
        return None
    if len(value) < MIN_SECRET_CHARS:
        raise ValueError(f"{where} must be at least {MIN_SECRET_CHARS} characters (a random string; it signs ids)")
    return hashlib.sha256(b"open-llm-advisor secret|" + value.encode("utf-8")).digest()


def server_secret(checkpointer) -> bytes:
    """The secret this server signs with: the operator's, else the one stored in the conversation database
    (generated the first time), else (a checkpointer that cannot store one) a random one for this process."""
    configured = configured_secret()
    if configured is not None:
        return configured
    stored = getattr(checkpointer, "shared_secret", None)
    return stored() if stored is not None else secrets.token_bytes(SECRET_BYTES)


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def _mac(key: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(key, f"{purpose}\0{value}".encode(), hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(key: bytes, purpose: str, value: str) -> str:
    """``value.MAC``: the value, readable, with a MAC that only the holder of the key can make for this purpose."""
    return f"{value}.{_mac(key, purpose, value)}"


def unsign(key: bytes, purpose: str, token: object) -> str | None:
    """The value of a token :func:`sign` made with this key and purpose; None for anything else."""
    if not isinstance(token, str) or "." not in token or len(token) > 512:
        return None
    value, mac = token.rsplit(".", 1)
    return value if hmac.compare_digest(mac.encode(), _mac(key, purpose, value).encode()) else None


def public_derivation(key: bytes, purpose: str) -> str:
    """A value derived from the key that may be published (it reveals nothing of the key), e.g. a key Gradio's browser
    state needs in the page."""
    return hmac.new(key, f"public\0{purpose}".encode(), hashlib.sha256).hexdigest()[:32]
