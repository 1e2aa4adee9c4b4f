"""The `hf` driver: a local open-weight model through transformers, 4-bit NF4 by default (bitsandbytes).

torch and transformers are imported here only, when the driver is built. The model's own chat
template renders the tools (``apply_chat_template(tools=...)``); tool calls are parsed from the text
(see ``toolcalls``). Generation streams through a ``TextIteratorStreamer``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from advisor.drivers import toolcalls

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """The weights cannot be loaded; the message says which model and how to get it."""


def cuda_available() -> bool:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return False
    import shutil
    import sys
    from pathlib import Path

    # Without an NVIDIA driver there is no CUDA: say so without paying for `import torch` (seconds).
    if sys.platform == "darwin" or not (
        shutil.which("nvidia-smi") or Path("/proc/driver/nvidia").exists() or Path("/dev/nvidia0").exists()
    ):
        return False
    import torch

    return bool(torch.cuda.is_available())


def weights_available(model: str) -> bool:
    """A local folder with a config, or a hub id whose config.json is in the local cache."""
    from pathlib import Path

    if Path(model).is_dir():
        return (Path(model) / "config.json").is_file()
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(model, "config.json")
        return isinstance(hit, str)
    except Exception:
        return False


def quantization_config(kind: str):
    """The transformers quantization config for '4bit' (NF4, bf16 compute, double quant), '8bit' or 'none'."""
    if kind in ("none", "bf16", "16bit", None):
        return None
    import torch
    from transformers import BitsAndBytesConfig

    if kind == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    if kind == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=True,
        )
    raise ValueError(f"unknown quantization {kind!r}; use 4bit, 8bit or none")


def load(model: str, quantization: str = "4bit", device_map: str | None = "auto", require_cuda: bool = True):
    """Load tokenizer and model. On a machine without CUDA this refuses (require_cuda) rather than
    letting bitsandbytes quietly run a 4-bit model on the CPU at a fraction of a token per second."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if require_cuda and not torch.cuda.is_available():
        raise ModelUnavailable(
            "no CUDA GPU is visible to torch, so the hf driver would run on the CPU (bitsandbytes loads 4-bit weights "
            "there without complaint, but at a fraction of a token per second). Use --driver offline, or --driver "
            "openai with a server that has a GPU."
        )
    hf_logging.enable_progress_bar()  # loading checkpoint shards shows a progress bar
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
        kwargs: dict[str, Any] = {"device_map": device_map}
        qc = quantization_config(quantization)
        if qc is not None:
            kwargs["quantization_config"] = qc
        else:
            kwargs["dtype"] = torch.bfloat16 if (not require_cuda or torch.cuda.is_bf16_supported()) else torch.float16
        llm = AutoModelForCausalLM.from_pretrained(model, **kwargs)
    except OSError as exc:
        raise ModelUnavailable(
            f"could not load {model!r}: {str(exc).splitlines()[0][:200]}. If this machine is offline, download the "
            f"weights where there is network (`hf download {model}`) and copy the Hugging Face cache over, or pass "
            "--model /path/to/a/local/folder. Without weights, use --driver offline."
        ) from None
    llm.eval()
    return tokenizer, llm


def to_template_messages(messages: list[BaseMessage]) -> list[dict]:
    """LangChain messages -> the dicts chat templates expect (tool calls with dict arguments)."""
    out: list[dict] = []
    for m in messages:
        content = m.content if isinstance(m.content, str) else json.dumps(m.content)
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": content})
        elif isinstance(m, HumanMessage):
            out.append({"role": "user", "content": content})
        elif isinstance(m, AIMessage):
            msg: dict[str, Any] = {"role": "assistant", "content": content}
            if m.tool_calls:
                msg["tool_calls"] = [
                    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["args"]}}
                    for c in m.tool_calls
                ]
            out.append(msg)
        elif isinstance(m, ToolMessage):
            out.append({"role": "tool", "content": content, "name": m.name or "", "tool_call_id": m.tool_call_id})
    return out


class HFChatModel(BaseChatModel):
    """A LangChain chat model over transformers generate(), with tools through the chat template."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model_id: str
    quantization: str = "4bit"
    max_new_tokens: int = 1024
    require_cuda: bool = True
    tools_schema: list[dict] = []
    _tokenizer: Any = PrivateAttr(default=None)
    _model: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "advisor-hf"

    def ensure_loaded(self) -> None:
        if self._model is None:
            self._tokenizer, self._model = load(self.model_id, self.quantization, require_cuda=self.require_cuda)

    def bind_tools(self, tools: Any, **kwargs: Any) -> HFChatModel:
        schemas = [t if isinstance(t, dict) else getattr(t, "openai_schema", lambda: t)() for t in tools]
        clone = self.model_copy(update={"tools_schema": schemas})
        clone._tokenizer, clone._model, clone._lock = self._tokenizer, self._model, self._lock
        return clone

    def _inputs(self, messages: list[BaseMessage]):
        self.ensure_loaded()
        kwargs: dict[str, Any] = {}
        template = getattr(self._tokenizer, "chat_template", "") or ""
        if "enable_thinking" in template:
            kwargs["enable_thinking"] = False  # Qwen3: answer directly, no <think> block
        enc = self._tokenizer.apply_chat_template(
            to_template_messages(messages),
            tools=self.tools_schema or None,
            add_generation_prompt=True,
            return_dict=True,
            return_tensors="pt",
            **kwargs,
        )
        return {k: v.to(self._model.device) for k, v in enc.items()}

    def _stream(
        self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        from transformers import TextIteratorStreamer

        with self._lock:
            inputs = self._inputs(messages)
            streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=False, timeout=600)
            gen_kwargs = dict(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                streamer=streamer,
                pad_token_id=self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
            )
            error: list[BaseException] = []

            def run():
                try:
                    self._model.generate(**gen_kwargs)
                except BaseException as exc:  # surfaced below
                    error.append(exc)
                    streamer.on_finalized_text("", stream_end=True)

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            text = ""
            in_call = False
            for piece in streamer:
                piece = _strip_specials(piece, self._tokenizer)
                text += piece
                # Do not stream tool-call markup to the user; it becomes tool_calls at the end.
                if "<tool_call>" in text or "[TOOL_CALLS]" in text or text.lstrip().startswith(("{", "<|python_tag|>")):
                    in_call = True
                if not in_call and piece:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                    if run_manager:
                        run_manager.on_llm_new_token(piece, chunk=chunk)
                    yield chunk
            thread.join()
            if error:
                raise error[0]
        parsed = toolcalls.parse(text)
        final = AIMessageChunk(
            content="" if not in_call else parsed.content,
            tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i, "type": "tool_call_chunk"}
                for i, c in enumerate(parsed.calls)
            ],
        )
        if parsed.invalid:
            final.additional_kwargs["invalid_tool_calls"] = parsed.invalid
        yield ChatGenerationChunk(message=final)

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        text_parts: list[str] = []
        message: Any = None
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            message = chunk.message if message is None else message + chunk.message
            text_parts.append(chunk.message.content if isinstance(chunk.message.content, str) else "")
        assert message is not None
        invalid = message.additional_kwargs.get("invalid_tool_calls") or []
        out = AIMessage(
            content=message.content,
            tool_calls=[
                {"name": c["name"], "args": c["args"], "id": c["id"], "type": "tool_call"} for c in message.tool_calls
            ],
            invalid_tool_calls=[
                {
                    "name": c["name"],
                    "args": c["args"] if isinstance(c["args"], str) else json.dumps(c["args"]),
                    "id": c["id"],
                    "error": c["error"],
                    "type": "invalid_tool_call",
                }
                for c in invalid
            ],
        )
        return ChatResult(generations=[ChatGeneration(message=out)])


def _strip_specials(piece: str, tokenizer) -> str:
    for tok in ("<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "</s>", "<|endoftext|>", "<|eom_id|>"):
        piece = piece.replace(tok, "")
    eos = getattr(tokenizer, "eos_token", None)
    if eos:
        piece = piece.replace(eos, "")
    return piece
