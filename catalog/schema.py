"""Typed schema of the catalog's reviewed text files.

Every numeric fact and every licence term is tied to a source (a URL and the
date the source was read or published). Models name their sources once under
``sources`` and say which source backs which fact under ``cite``; licence terms
carry their own clause quote; GPU and price rows carry their own source.

Units: ``_gb`` is 10^9 bytes, ``_b`` billions of parameters, ``_gbps`` 10^9
bytes per second, ``usd_per_mtok`` US dollars per million tokens.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Date = dt.date


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """Where a fact was read. ``as_of`` is the date of the version read."""

    url: str = Field(pattern=r"^https?://\S+$")
    as_of: Date
    title: str | None = None
    via: str | None = Field(
        default=None,
        description="A faithful copy the primary source was read through, when it was "
        "not read directly (e.g. a mirror of config.json or a price file).",
    )


# ---------------------------------------------------------------- families


class Family(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    name: str
    vendor: str
    lineage: str = Field(description="Version lineage the family belongs to, e.g. 'llama', 'qwen'.")
    generation: str = Field(description="Version within the lineage, e.g. '3.1'; sortable text.")
    description: str
    url: str = Field(pattern=r"^https?://\S+$")


# ---------------------------------------------------------------- benchmarks


class BenchmarkDef(Strict):
    id: str
    name: str
    category: Literal[
        "knowledge", "reasoning", "commonsense", "truthfulness", "code", "math",
        "instruction_following", "chat", "long_context", "multilingual", "tool_use",
    ]
    higher_is_better: bool = True
    scale: Literal["percent", "elo"] = "percent"
    description: str
    url: str = Field(pattern=r"^https?://\S+$")


# ---------------------------------------------------------------- models


class Attention(Strict):
    kind: Literal["full", "sliding", "chunked", "mla"] = "full"
    window: int | None = Field(default=None, gt=0, description="Tokens a local layer attends to.")
    global_every: int | None = Field(
        default=None,
        ge=1,
        description="Every Nth layer attends globally (2 = alternating; 6 = five local to one "
        "global). None with kind sliding/chunked: every layer is local.",
    )
    kv_lora_rank: int | None = Field(default=None, gt=0, description="MLA: latent KV width.")
    qk_rope_head_dim: int | None = Field(default=None, gt=0, description="MLA: decoupled RoPE key width.")

    @model_validator(mode="after")
    def _consistent(self) -> Attention:
        if self.kind in ("sliding", "chunked") and not self.window:
            raise ValueError(f"attention kind {self.kind!r} needs 'window'")
        if self.kind == "mla" and not (self.kv_lora_rank and self.qk_rope_head_dim):
            raise ValueError("attention kind 'mla' needs 'kv_lora_rank' and 'qk_rope_head_dim'")
        if self.kind == "full" and (self.window or self.global_every):
            raise ValueError("attention kind 'full' takes no 'window' or 'global_every'")
        return self


class Moe(Strict):
    experts: int = Field(gt=1)
    active_experts: int = Field(ge=1)
    shared_experts: int = Field(default=0, ge=0)
    dense_layers: int = Field(default=0, ge=0, description="Leading layers with a dense FFN.")

    @model_validator(mode="after")
    def _active_le_total(self) -> Moe:
        if self.active_experts > self.experts:
            raise ValueError("active_experts exceeds experts")
        return self


class Architecture(Strict):
    layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    attention_heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0, description="Key/value heads (GQA); equals attention_heads for MHA.")
    head_dim: int | None = Field(default=None, gt=0, description="Omit when it is hidden_size / attention_heads.")
    intermediate_size: int | None = Field(default=None, gt=0)
    vocab_size: int = Field(gt=0)
    tied_embeddings: bool
    attention: Attention = Attention()
    moe: Moe | None = None

    @property
    def effective_head_dim(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden_size // self.attention_heads

    @model_validator(mode="after")
    def _heads(self) -> Architecture:
        if self.head_dim is None and self.hidden_size % self.attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not a multiple of attention_heads "
                f"{self.attention_heads}; give head_dim explicitly"
            )
        if self.attention_heads % self.kv_heads:
            raise ValueError(f"attention_heads {self.attention_heads} is not a multiple of kv_heads {self.kv_heads}")
        return self


class BenchmarkScore(Strict):
    name: str = Field(description="A benchmark id from benchmarks.yaml.")
    value: float
    variant: Literal["base", "instruct"]
    setting: str = Field(description="Shots, CoT, harness: whatever the source states.")
    source: str = Field(description="A key of the model's sources.")


class LicenseChange(Strict):
    license: str = Field(description="The licence id that applied before 'until'.")
    until: Date
    source: str = Field(description="A key of the model's sources.")
    note: str | None = None


CITABLE_MODEL_FACTS = (
    "release_date",
    "params_b",
    "active_params_b",
    "context_length",
    "max_position_embeddings",
    "architecture",
    "license",
    "languages",
)


class Model(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    name: str
    family: str
    vendor: str
    repos: dict[Literal["base", "instruct"], str] = Field(
        description="Hugging Face repo ids of the base and instruct weights."
    )
    aliases: list[str] = []
    release_date: Date
    params_b: float = Field(gt=0, description="Total parameters, billions.")
    active_params_b: float | None = Field(default=None, gt=0, description="MoE: parameters used per token.")
    context_length: int = Field(gt=0, description="Official context length in tokens.")
    max_position_embeddings: int | None = Field(default=None, gt=0, description="config.json value.")
    architecture: Architecture | None = None
    modalities: list[Literal["text", "image", "audio", "video"]] = ["text"]
    languages: list[str] = Field(default_factory=list, description="ISO 639-1 codes the vendor lists.")
    license: str
    license_history: list[LicenseChange] = []
    specialties: list[Literal["chat", "code", "math", "reasoning", "multilingual", "long_context", "edge", "vision", "tool_use"]] = []
    benchmarks: list[BenchmarkScore] = []
    derived_from: str | None = Field(default=None, description="Model id this one was fine-tuned or distilled from.")
    sources: dict[str, Source]
    cite: dict[str, str] = Field(description="Fact name -> key of sources that backs it.")
    unverified: list[str] = Field(
        default_factory=list,
        description="Facts read only in a secondary copy or not confirmed; shown as such.",
    )
    notes: str | None = None

    @property
    def is_moe(self) -> bool:
        return self.active_params_b is not None

    @model_validator(mode="after")
    def _checks(self) -> Model:
        if self.active_params_b is not None and self.active_params_b > self.params_b:
            raise ValueError(f"active_params_b {self.active_params_b} exceeds params_b {self.params_b}")
        if not self.repos:
            raise ValueError("repos needs at least one Hugging Face repo id")
        for fact in CITABLE_MODEL_FACTS:
            value = getattr(self, fact)
            if value in (None, []):
                continue
            key = self.cite.get(fact)
            if key is None:
                raise ValueError(f"fact {fact!r} has no source: add it to 'cite'")
            if key not in self.sources:
                raise ValueError(f"cite[{fact!r}] names source {key!r}, which is not under 'sources'")
        for fact, key in self.cite.items():
            if fact not in CITABLE_MODEL_FACTS:
                raise ValueError(f"cite names unknown fact {fact!r}; allowed: {', '.join(CITABLE_MODEL_FACTS)}")
        for score in self.benchmarks:
            if score.source not in self.sources:
                raise ValueError(f"benchmark {score.name} names source {score.source!r}, which is not under 'sources'")
        for change in self.license_history:
            if change.source not in self.sources:
                raise ValueError(f"license_history names source {change.source!r}, which is not under 'sources'")
        return self


# ---------------------------------------------------------------- licences


class Term(Strict):
    """One licence term: its value, the clause it rests on, and where that clause is."""

    value: str | int | bool
    quote: str | None = Field(default=None, description="Short clause quote; required unless value is 'not_reported'.")
    url: str | None = Field(default=None, pattern=r"^https?://\S+$", description="Defaults to the licence URL.")
    note: str | None = None

    @model_validator(mode="after")
    def _quoted(self) -> Term:
        if self.value != "not_reported" and not self.quote:
            raise ValueError("a licence term needs a clause quote (or value 'not_reported')")
        return self


YesNoConditional = Literal["yes", "no", "conditional"]


class LicenseTerms(Strict):
    commercial_use: Term
    mau_threshold: Term | None = Field(default=None, description="Monthly active users above which a separate licence is needed.")
    attribution: Term | None = None
    derivative_naming: Term | None = None
    outputs_to_train_other_models: Term | None = Field(
        default=None, description="forbidden | allowed_with_naming | restrictions_carry_over | allowed"
    )
    acceptable_use_policy: Term | None = None
    non_production_only: Term | None = None
    hosted_service: Term | None = Field(default=None, description="allowed | requires_license | forbidden")
    eu_multimodal_carve_out: Term | None = None
    redistribution: Term | None = None
    modification: Term | None = None

    @model_validator(mode="after")
    def _values(self) -> LicenseTerms:
        allowed = {
            "commercial_use": {"yes", "no", "conditional"},
            "outputs_to_train_other_models": {"forbidden", "allowed_with_naming", "restrictions_carry_over", "allowed", "not_reported"},
            "hosted_service": {"allowed", "requires_license", "forbidden", "not_reported"},
            "non_production_only": {True, False, "not_reported"},
            "eu_multimodal_carve_out": {True, False, "not_reported"},
        }
        for name, values in allowed.items():
            term = getattr(self, name)
            if term is not None and term.value not in values:
                raise ValueError(f"terms.{name}.value must be one of {sorted(map(str, values))}, not {term.value!r}")
        if self.mau_threshold is not None and not (
            self.mau_threshold.value == "not_reported"
            or (isinstance(self.mau_threshold.value, int) and not isinstance(self.mau_threshold.value, bool) and self.mau_threshold.value > 0)
        ):
            raise ValueError("terms.mau_threshold.value must be a positive integer or 'not_reported'")
        return self


class License(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    name: str
    spdx: str | None = None
    hf_tag: str | None = Field(default=None, description="The license tag on Hugging Face model pages.")
    url: str = Field(pattern=r"^https?://\S+$")
    as_of: Date
    effective_date: Date | None = None
    category: Literal["permissive", "open_rail", "community", "research", "non_commercial", "non_production"]
    summary: str
    terms: LicenseTerms
    superseded_by: str | None = Field(default=None, description="Licence id that replaced this one for the same weights.")


# ---------------------------------------------------------------- GPUs


class Price(Strict):
    usd: float = Field(gt=0)
    kind: str = Field(description="e.g. 'launch MSRP', 'on-demand, RunPod Community'")
    as_of: Date
    source: Source


class Gpu(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    name: str
    aliases: list[str] = []
    vendor: Literal["NVIDIA", "AMD", "Apple", "Intel"]
    segment: Literal["consumer", "workstation", "datacenter", "apple"]
    memory_gb: float = Field(gt=0, description="Memory per device (for Apple: the unified memory of this configuration).")
    memory_bandwidth_gbps: float = Field(gt=0)
    fp16_tflops: float | None = Field(default=None, gt=0, description="Dense FP16/BF16 tensor throughput (no sparsity).")
    int8_tops: float | None = Field(default=None, gt=0, description="Dense INT8 tensor throughput (no sparsity).")
    fp8: bool | None = None
    tdp_w: float | None = Field(default=None, gt=0)
    launch: str | None = Field(default=None, description="Year or YYYY-MM(-DD).")
    unified_memory: bool = False
    usable_memory_fraction: float = Field(
        default=1.0, gt=0, le=1, description="Share of memory a model may use (Apple: the GPU wired-memory limit)."
    )
    purchase: Price | None = None
    cloud_hourly: list[Price] = []
    sources: dict[str, Source]
    cite: dict[str, str]
    unverified: list[str] = []
    notes: str | None = None

    @model_validator(mode="after")
    def _cited(self) -> Gpu:
        for fact in ("memory_gb", "memory_bandwidth_gbps", "fp16_tflops", "int8_tops", "tdp_w"):
            if getattr(self, fact) is None:
                continue
            key = self.cite.get(fact)
            if key is None:
                raise ValueError(f"fact {fact!r} has no source: add it to 'cite'")
            if key not in self.sources:
                raise ValueError(f"cite[{fact!r}] names source {key!r}, which is not under 'sources'")
        return self


# ---------------------------------------------------------------- API prices


class ApiPrice(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._/-]*$")
    provider: str
    model_name: str
    kind: Literal["proprietary", "hosted_open"]
    open_model: str | None = Field(default=None, description="Catalog model id served (hosted_open only).")
    usd_per_mtok_input: float = Field(ge=0)
    usd_per_mtok_output: float = Field(ge=0)
    context_length: int | None = Field(default=None, gt=0)
    source: Source
    notes: str | None = None

    @model_validator(mode="after")
    def _open_model(self) -> ApiPrice:
        if self.kind == "hosted_open" and not self.open_model:
            raise ValueError("a hosted_open price needs 'open_model'")
        if self.kind == "proprietary" and self.open_model:
            raise ValueError("a proprietary price takes no 'open_model'")
        return self


# ---------------------------------------------------------------- files


class ModelsFile(Strict):
    models: list[Model]


class LicensesFile(Strict):
    licenses: list[License]


class GpusFile(Strict):
    gpus: list[Gpu]


class PricesFile(Strict):
    prices: list[ApiPrice]


class FamiliesFile(Strict):
    families: list[Family]


class BenchmarksFile(Strict):
    benchmarks: list[BenchmarkDef]


# ---------------------------------------------------------------- quantization formats


class Quantization(Strict):
    """A weight format: bits per weight and which weights it applies to."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    bits_per_weight: float = Field(gt=0, le=32)
    scope: Literal["all", "linear"] = Field(
        description="'linear': only the transformer's linear layers; embeddings and lm_head stay 16-bit. "
        "'all': bits_per_weight is an average over every weight (GGUF files)."
    )
    family: Literal["float", "bitsandbytes", "gguf", "gptq_awq", "fp8"]
    engines: list[str] = Field(description="Serving engines that load this format.")
    needs_fp8_hardware: bool = False
    quality: str = Field(description="What the source says about quality loss, in our words.")
    perplexity_delta: float | None = Field(default=None, description="Perplexity increase on the source's reference model.")
    rank: int = Field(description="Preference when several fit: lower is closer to the original weights.")
    basis: str = Field(description="How bits_per_weight follows from the source.")
    source: Source


class QuantizationsFile(Strict):
    quantizations: list[Quantization]


# ---------------------------------------------------------------- published measurements


class Measurement(Strict):
    """A published figure the estimators are calibrated on and checked against."""

    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    model: str = Field(description="Catalog model id measured.")
    gpu: str | None = Field(default=None, description="Catalog GPU id (None for memory-only figures).")
    engine: str
    quantization: str
    metric: Literal["decode_tokens_per_s", "peak_memory_gb", "weights_gb"]
    value: float = Field(gt=0)
    batch_size: int = 1
    context_tokens: int | None = None
    use_for_calibration: bool = True
    note: str | None = None
    source: Source


class MeasurementsFile(Strict):
    measurements: list[Measurement]
