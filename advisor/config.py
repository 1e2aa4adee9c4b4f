"""Settings: one typed object, filled from arguments and ADVISOR_* environment variables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:[^=&#\s]*(?:key|token|secret|password|passwd|pwd|auth|sig|signature|credential)"
    r"[^=&#\s]*)=)[^&\s]*"
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")


def redact_url(url: str) -> str:
    """The URL as it may be shown or logged: its user part removed (``http://***@host/v1``), and the values of query
    parameters that look like credentials (``api_key=***``, ``password=***``).

    The one place a URL is redacted (the start-up lines, /healthz, errors naming the database, every log line).
    The user part is read as libpq reads a postgresql:// URI: everything after ``://`` up to an ``@``, with no
    special meaning for ``#`` or ``?`` (a URL parser stops at them, and a password holding one was shown whole).
    To be safe with a password that holds ``@``, ``/``, ``#`` or ``?`` unencoded (libpq itself would misread it),
    everything up to the last ``@`` is hidden, once the query's credentials are (a query value runs to the next
    ``&``, ``#`` and ``@`` included)."""
    scheme, sep, rest = _SECRET_QUERY.sub(r"\1***", url).partition("://")
    if sep and "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest


def redact_urls(text: str) -> str:
    """Every URL in the text redacted as by :func:`redact_url`."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def is_postgres(db: str | None) -> bool:
    """Whether --db names a PostgreSQL database (a postgresql:// or postgres:// URL) rather than a SQLite file."""
    return bool(db) and str(db).split("://", 1)[0].lower() in ("postgresql", "postgres") and "://" in str(db)


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(_env("ADVISOR_DATA_DIR") or user_data_dir("open-llm-advisor", appauthor=False))


def _typed(key: str, value: str, kind: str) -> Any:
    """An environment variable's text as the setting's type, or a clear error naming the variable."""
    name = "ADVISOR_" + key.upper()
    try:
        if kind in ("int", "int | None"):
            return int(value)
        if kind in ("float", "float | None"):
            return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if kind == "bool":
        if value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if value.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name} must be 1 or 0 (true or false), not {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    driver: str = field(default="auto", metadata={"help": "auto, hf, openai or offline (ADVISOR_DRIVER)"})
    model: str = field(
        default="Qwen/Qwen3-8B", metadata={"help": "hub id or local path for the hf driver (ADVISOR_MODEL)"}
    )
    llm_weights: str = field(
        default="auto",
        metadata={
            "help": "how the hf driver loads the advisor's own LLM: auto (4bit on a GPU, bf16 on the CPU), 4bit (NF4), "
            "8bit or none (ADVISOR_LLM_WEIGHTS; ADVISOR_QUANT, its older name, is still read). Not a model format of "
            "the tools (q4_k_m, fp8, ...), which are arguments of each question"
        },
    )
    device: str = field(
        default="auto",
        metadata={"help": "hf driver: auto (a CUDA GPU, else a clear error), cuda or cpu (ADVISOR_DEVICE)"},
    )
    threads: int | None = field(
        default=None, metadata={"help": "hf driver on the CPU: torch threads, 1 by default (ADVISOR_THREADS)"}
    )
    openai_base_url: str | None = field(
        default=None, metadata={"help": "OpenAI-compatible server, e.g. http://localhost:8000/v1"}
    )
    openai_model: str | None = field(
        default=None, metadata={"help": "model name on that server (ADVISOR_OPENAI_MODEL)"}
    )
    openai_api_key: str | None = field(
        default=None, metadata={"help": "API key for that server (ADVISOR_OPENAI_API_KEY)"}
    )
    db: str | None = field(
        default=None,
        metadata={
            "help": "conversations: a SQLite file, ':memory:', or a postgresql://USER@HOST/DB URL for several "
            "workers and replicas (ADVISOR_DB)"
        },
    )
    max_steps: int = field(default=8, metadata={"help": "model calls per turn before the advisor stops politely"})
    max_message_chars: int = field(default=8000, metadata={"help": "longest message accepted"})
    timeout_s: float = field(default=120.0, metadata={"help": "longest a model call may take (ADVISOR_TIMEOUT_S)"})
    tool_timeout_s: float = field(
        default=30.0, metadata={"help": "longest a tool call may take (ADVISOR_TOOL_TIMEOUT_S)"}
    )
    max_new_tokens: int = field(
        default=1024, metadata={"help": "hf driver: most tokens generated per call (ADVISOR_MAX_NEW_TOKENS)"}
    )
    repetition_guard: int = field(
        default=4,
        metadata={
            "help": "hf driver: stop a generation whose last tokens are one cycle repeated this many times (a greedy "
            "loop); 0 turns it off (ADVISOR_REPETITION_GUARD)"
        },
    )
    tool_tokens: int = field(
        default=2000,
        metadata={
            "help": "tool schemas per model call, in tokens: over it, only the tools the turn can need are sent "
            "(ADVISOR_TOOL_TOKENS)"
        },
    )
    context_tokens: int | None = field(
        default=None,
        metadata={
            "help": "openai driver: the served model's context, to refuse a longer prompt with its sizes instead of a "
            "server error (ADVISOR_CONTEXT_TOKENS); the hf driver reads it from the model"
        },
    )
    openai_tool_choice: str | None = field(
        default=None,
        metadata={
            "help": "openai driver: tool_choice sent with the tools (auto, required or none); unset, none is sent "
            "(ADVISOR_OPENAI_TOOL_CHOICE)"
        },
    )
    openai_stream_tools: bool = field(
        default=True,
        metadata={
            "help": "openai driver: stream calls that offer tools; off for a server whose streamed tool calls are "
            "broken (ADVISOR_OPENAI_STREAM_TOOLS=0)"
        },
    )
    concurrency: int = field(
        default=40,
        metadata={
            "help": "chat turns the browser UI runs at once, across its users (ADVISOR_CONCURRENCY); more wait in "
            "its queue. Its thread pool has this many threads and a few more"
        },
    )

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = {
            "driver": _env("ADVISOR_DRIVER"),
            "model": _env("ADVISOR_MODEL"),
            "llm_weights": _env("ADVISOR_LLM_WEIGHTS") or _env("ADVISOR_QUANT"),
            "openai_base_url": _env("ADVISOR_OPENAI_BASE_URL"),
            "openai_model": _env("ADVISOR_OPENAI_MODEL"),
            "openai_api_key": _env("ADVISOR_OPENAI_API_KEY") or _env("OPENAI_API_KEY"),
            "db": _env("ADVISOR_DB"),
            "max_steps": _env("ADVISOR_MAX_STEPS"),
            "max_message_chars": _env("ADVISOR_MAX_MESSAGE_CHARS"),
            "timeout_s": _env("ADVISOR_TIMEOUT_S"),
            "tool_timeout_s": _env("ADVISOR_TOOL_TIMEOUT_S"),
            "concurrency": _env("ADVISOR_CONCURRENCY"),
            "device": _env("ADVISOR_DEVICE"),
            "threads": _env("ADVISOR_THREADS"),
            "max_new_tokens": _env("ADVISOR_MAX_NEW_TOKENS"),
            "repetition_guard": _env("ADVISOR_REPETITION_GUARD"),
            "tool_tokens": _env("ADVISOR_TOOL_TOKENS"),
            "context_tokens": _env("ADVISOR_CONTEXT_TOKENS"),
            "openai_stream_tools": _env("ADVISOR_OPENAI_STREAM_TOOLS"),
            "openai_tool_choice": _env("ADVISOR_OPENAI_TOOL_CHOICE"),
        }
        values: dict[str, Any] = {k: v for k, v in env.items() if v is not None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        types = {f.name: str(f.type) for f in fields(cls)}
        for key, value in list(values.items()):
            if isinstance(value, str) and key in types:
                values[key] = _typed(key, value, types[key])
        return cls(**values)

    @property
    def served_model(self) -> str:
        """Model name for the openai driver: --model unless ADVISOR_OPENAI_MODEL names another."""
        return self.openai_model or self.model

    @property
    def db_path(self) -> str:
        if self.db:
            return self.db
        return str(default_data_dir() / "conversations.sqlite")
