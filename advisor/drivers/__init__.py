"""LLM drivers behind one interface (a LangChain chat model with ``bind_tools``).

- ``hf``: a local open-weight model through transformers: bitsandbytes 4-bit on a CUDA GPU, or bf16 on the CPU
  when asked (``--device cpu``); weights from a folder, the Hub cache or a GGUF file.
- ``openai``: any OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp server, Ollama, LM Studio).
- ``offline``: no LLM; deterministic planning and templates over the same tools.

``auto`` picks ``hf`` where CUDA and the model's weights are available, otherwise ``offline``, and says why.
Heavy imports (torch, transformers) happen inside the driver that needs them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor.config import Settings, redact_url

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

log = logging.getLogger(__name__)
DRIVERS = ("auto", "hf", "openai", "offline")


class DriverError(RuntimeError):
    """A driver could not be built; the message says why and what to do instead."""


@dataclass(frozen=True)
class DriverInfo:
    name: str
    model: str | None
    reason: str

    @property
    def offline(self) -> bool:
        return self.name == "offline"

    def describe(self) -> str:
        if self.offline:
            return f"offline driver (no LLM): {self.reason}"
        return f"{self.name} driver, model {self.model}: {self.reason}"


def resolve_driver(settings: Settings) -> tuple[str, str]:
    """Which driver the settings choose, and why, without loading a model ("auto" resolved)."""
    name = settings.driver
    if name not in DRIVERS:
        raise DriverError(f"unknown driver {name!r}; choose one of {', '.join(DRIVERS)}")
    if name == "auto":
        name, reason = _auto(settings)
        log.info("driver auto -> %s: %s", name, reason)
        return name, reason
    return name, "chosen explicitly"


def make_driver(settings: Settings) -> tuple[BaseChatModel, DriverInfo]:
    name, reason = resolve_driver(settings)
    if name == "offline":
        from advisor.drivers.offline import OfflineChatModel

        return OfflineChatModel(), DriverInfo("offline", None, reason)
    if name == "openai":
        # shown by /healthz (no credentials needed) and logged: never with the credentials a URL may carry
        return _openai(settings), DriverInfo(
            "openai", settings.served_model, f"{reason}; server {redact_url(settings.openai_base_url or '')}"
        )
    return _hf(settings, reason)


def _hf(settings: Settings, reason: str) -> tuple[BaseChatModel, DriverInfo]:
    from advisor.drivers.hf import HFChatModel, ModelUnavailable

    model = HFChatModel(
        model_id=settings.model,
        quantization=settings.llm_weights,
        device=settings.device,
        threads=settings.threads,
        max_new_tokens=settings.max_new_tokens,
        repetition_guard=settings.repetition_guard,
        timeout_s=settings.timeout_s,
        tool_tokens=settings.tool_tokens,
    )
    try:
        model.ensure_loaded()
    except ModelUnavailable as exc:
        raise DriverError(str(exc)) from None
    loaded = model.loaded
    return model, DriverInfo("hf", settings.model, f"{reason}; {loaded.describe() if loaded else 'weights loaded'}")


def _auto(settings: Settings) -> tuple[str, str]:
    if settings.openai_base_url:
        return "openai", f"ADVISOR_OPENAI_BASE_URL is set ({redact_url(settings.openai_base_url)})"
    from advisor.drivers import probe

    if not probe.cuda_possible():  # asked before the hf driver's module (LangChain) is imported
        return "offline", "no CUDA GPU (or no torch) on this machine"
    from advisor.drivers.hf import cuda_available, weights_available

    if not cuda_available():
        return "offline", "no CUDA GPU (or no torch) on this machine"
    if not weights_available(settings.model):
        return "offline", (
            f"a CUDA GPU is present but {settings.model} is not in the local Hugging Face cache; "
            f"run `hf download {settings.model}` and restart, or use --driver hf to download it on start"
        )
    return "hf", f"CUDA GPU found and {settings.model} is cached"


def _openai(settings: Settings) -> BaseChatModel:
    if not settings.openai_base_url:
        raise DriverError(
            "the openai driver needs --base-url (or ADVISOR_OPENAI_BASE_URL), e.g. http://localhost:8000/v1"
        )
    if settings.openai_tool_choice not in (None, "auto", "required", "none"):
        raise DriverError(
            f"ADVISOR_OPENAI_TOOL_CHOICE is {settings.openai_tool_choice!r}; allowed: auto, required or none"
        )
    from advisor.drivers import openai_compat

    return openai_compat.make(settings)
