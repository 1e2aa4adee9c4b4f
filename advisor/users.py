"""Who is asking: the server's users and how a request proves it is one of them (issue 29, "Users").

Four ways, chosen by the operator (app.serve):

- none (localhost only, or ``--insecure``): every request is the one anonymous user;
- one shared credential, ``ADVISOR_AUTH=user:password`` (or ``ADVISOR_AUTH_FILE``): every client is that user;
- a users file, ``--users-file PATH`` (or ``ADVISOR_USERS_FILE``): one ``name:$argon2id$...`` line per user, made
  with ``advisor users add``; clients send HTTP Basic ``name:password`` (or ``Bearer name:password``);
- a trusted reverse proxy, ``--user-header X-Remote-User`` (or ``ADVISOR_USER_HEADER``): the proxy signs users in
  and names them in that header, which the server believes (only the proxy may reach it).

The middleware (advisor/http/middleware.py) resolves the user and writes it into the request as ``x-advisor-user``
(any value a client sent there is replaced), so every route, Gradio's handlers and MCP read it with
:func:`user_of`. Each conversation belongs to the user who started it (advisor/service.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

USER_HEADER = "x-advisor-user"  # the signed-in user, as the middleware resolved it
ANONYMOUS = ""
NAME = re.compile(r"[A-Za-z0-9_.@+-]{1,64}")
# failed sign-ins a client address may make in a window before it is refused without a check
MAX_FAILURES = 10
FAILURE_WINDOW_S = 60.0


class UsersFileError(ValueError):
    """A users file that cannot be used: names the file, the line and what is wrong."""


def user_of(headers: Mapping | None) -> str:
    """The user a request was made by (the middleware's ``x-advisor-user``); anonymous when there is none."""
    if headers is None:
        return ANONYMOUS
    value = headers.get(USER_HEADER)
    if value is None:
        value = next((v for k, v in headers.items() if str(k).lower() == USER_HEADER), ANONYMOUS)
    return str(value)


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2id hash of the password (argon2-cffi's default parameters), as a users file holds it."""
    if not password:
        raise ValueError("the password is empty")
    return _hasher().hash(password)


def read_users_file(path: str | Path) -> dict[str, str]:
    """name -> Argon2 hash from a users file: ``name:hash`` lines, ``#`` comments and blank lines ignored.
    UsersFileError names the line and what is wrong; a file that gives no user is refused too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsersFileError(f"cannot read the users file {path} ({exc})") from None
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, hashed = line.partition(":")
        where = f"the users file {path}, line {number}"
        if not sep or not NAME.fullmatch(name):
            raise UsersFileError(
                f"{where}: expected NAME:HASH with NAME of 1-64 letters, digits or _ . @ + - (make lines with "
                "`advisor users add --file PATH NAME`)"
            )
        if not hashed.startswith("$argon2"):
            raise UsersFileError(f"{where}: {name}'s password is not an Argon2 hash (make it with `advisor users add`)")
        if name in users:
            raise UsersFileError(f"{where}: {name} is listed twice")
        users[name] = hashed
    if not users:
        raise UsersFileError(f"the users file {path} lists no user (add one with `advisor users add`)")
    return users


def add_user(path: str | Path, name: str, password: str) -> bool:
    """Add the user to the users file (created, readable by its owner only), or set their password; True if new."""
    if not NAME.fullmatch(name):
        raise ValueError(f"user name {name!r}: 1-64 letters, digits or _ . @ + -")
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    entry = f"{name}:{hash_password(password)}"
    kept = [line for line in lines if line.partition(":")[0].strip() != name]
    new = len(kept) == len(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text("\n".join([*kept, entry]) + "\n", encoding="utf-8")
    return new


@dataclass
class Credentials:
    """How requests sign in: ``shared`` (one user:password), ``users`` (name -> Argon2 hash) or ``header`` (a trusted
    proxy's header naming the user). At most one is set; none means no sign-in (everyone is anonymous)."""

    shared: tuple[str, str] | None = None
    users: dict[str, str] | None = None
    header: str | None = None
    users_file: str | None = None  # where ``users`` came from (workers read it again)
    _verified: OrderedDict = field(default_factory=OrderedDict, repr=False)  # digest of a good header -> user
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def required(self) -> bool:
        return bool(self.shared or self.users or self.header)

    @property
    def several_users(self) -> bool:
        """Whether requests may come from different users (a users file or a proxy's header)."""
        return bool(self.users or self.header)

    def user(self, headers: Mapping) -> str | None:
        """The signed-in user, or None if the request does not prove to be one. ``headers``: lower-case names."""
        if self.header:
            name = headers.get(self.header.lower(), "").strip()
            return name if NAME.fullmatch(name) else None
        header = headers.get("authorization", "")
        if self.shared is not None:
            return self.shared[0] if _shared_match(header, self.shared) else None
        if self.users is None:
            return ANONYMOUS
        digest = hashlib.sha256(header.encode("latin-1", "replace")).digest()
        with self._lock:
            if digest in self._verified:
                self._verified.move_to_end(digest)
                return self._verified[digest]
        name = self._check(header)
        if name is not None:
            with self._lock:
                self._verified[digest] = name
                while len(self._verified) > 4096:
                    self._verified.popitem(last=False)
        return name

    def _check(self, header: str) -> str | None:
        """The user whose name and password the header carries (Basic, or Bearer name:password); one Argon2 check."""
        given = _name_and_password(header)
        assert self.users is not None
        if given is None:
            return None
        name, password = given
        from argon2.exceptions import Argon2Error, InvalidHashError

        hashed = self.users.get(name)
        try:
            # an unknown name costs one check as well, so that timing does not tell which names exist
            ok = _hasher().verify(hashed or _DUMMY.get(), password)
        except (Argon2Error, InvalidHashError):
            return None
        return name if ok and hashed is not None else None


class _Dummy:
    """A hash to check against for unknown names, made once when first needed."""

    def __init__(self) -> None:
        self._hash: str | None = None

    def get(self) -> str:
        if self._hash is None:
            self._hash = hash_password("not a password of anyone")
        return self._hash


_DUMMY = _Dummy()


def _name_and_password(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:
            return None
    elif scheme.lower() == "bearer":
        try:
            text = value.strip().encode("latin-1").decode("utf-8")
        except UnicodeError:
            return None
    else:
        return None
    name, sep, password = text.partition(":")
    return (name, password) if sep and name and password else None


def _shared_match(header: str, credentials: tuple[str, str]) -> bool:
    """Whether an Authorization header carries the shared credentials (Basic user:password, or Bearer password),
    compared as UTF-8 bytes in constant time."""
    user, password = credentials
    if header.lower().startswith("basic "):
        try:
            given = base64.b64decode(header[6:])
        except ValueError:
            return False
        return hmac.compare_digest(given, f"{user}:{password}".encode())
    if header.lower().startswith("bearer "):
        # header values arrive decoded as latin-1: encoding them back gives the bytes the client sent (UTF-8)
        return hmac.compare_digest(header[7:].strip().encode("latin-1", "replace"), password.encode())
    return False


class FailedSignIns:
    """Failed sign-ins per client address: after MAX_FAILURES in FAILURE_WINDOW_S, that address is refused (429)
    without its credentials being checked until the oldest failure leaves the window."""

    def __init__(self, limit: int | None = None, window_s: float = FAILURE_WINDOW_S) -> None:
        if limit is None:  # ADVISOR_MAX_FAILED_SIGNINS: another limit (a test's many deliberate failures)
            limit = int(os.environ.get("ADVISOR_MAX_FAILED_SIGNINS") or MAX_FAILURES)
        self.limit, self.window_s = limit, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, address: str, now: float | None = None) -> float:
        """Seconds until the address may try again; 0 if it may now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._failures.get(address)
            if not failures:
                return 0.0
            while failures and now - failures[0] > self.window_s:
                failures.popleft()
            if not failures:
                del self._failures[address]
                return 0.0
            return max(0.0, failures[0] + self.window_s - now) if len(failures) >= self.limit else 0.0

    def failed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) > 100_000:  # bounded memory under a spread-out attack: forget the oldest
                self._failures.pop(next(iter(self._failures)))
            self._failures.setdefault(address, deque(maxlen=self.limit)).append(now)
