"""Typed schema of the catalog's reviewed text files.

Every numeric fact and every licence term is tied to a source (a URL and the
date the source was read or published). Models name their sources once under
``sources`` and say which source backs which fact under ``cite``; licence terms
carry their own clause quote; GPU and price rows carry their own source.

Dates: ``as_of`` is always the date a source (or price) was read; ``published`` is the date the
document or version read was published, where it states one.

Units: ``_gb`` is 10^9 bytes, ``_bytes`` bytes, ``_b`` billions of parameters, ``_gbps`` 10^9
bytes per second, ``usd_per_mtok`` US dollars per million tokens. Device memory is stored as the
vendor states it ("80GB") and in bytes: vendors' "GB" of DRAM/HBM capacity are binary (80GB of
HBM is 80 x 2^30 bytes), so ``memory_bytes`` defaults to the stated figure x 2^30.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

Date = dt.date


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def public_url(url: str) -> str:
    """A URL anyone can open: http(s) on a named internet host (not a local path, localhost or a private address)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or re.search(r"\s", url) or not host:
        raise ValueError(f"{url!r} is not an http(s) URL: a source must be a page or file anyone can open")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None and not ip.is_global:
        raise ValueError(f"{url!r} points at a private or local address, not a public page")
    if ip is None and (host == "localhost" or "." not in host or host.endswith((".local", ".internal", ".localhost"))):
        raise ValueError(f"{url!r} points at a local host ({host}), not a public page")
    return url


PublicUrl = Annotated[str, AfterValidator(public_url)]

# What a note about a copy must not cite: a path on someone's machine, or a search index's internal file number.
_UNFOLLOWABLE = re.compile(
    r"(?:^|[\s(\"'])(?:/(?:work|home|tmp|Users|mnt)/|~/|file:|[A-Z]:\\)|shared/reference"
    r"|\bindex files? (?:id )?\d|\bfile ids? \d",
    re.IGNORECASE,
)


def followable(text: str) -> str:
    """Text naming where a copy was read: public URLs and descriptions only."""
    found = _UNFOLLOWABLE.search(text)
    if found:
        raise ValueError(
            f"names a copy no reader can open ({found.group(0).strip()!r}): give the copy's public URL, or describe "
            "it without a local path or a search index's file number"
        )
    return text


class Source(Strict):
    """Where a fact was read: ``as_of`` the date it was read, ``published`` the date of the version read."""

    url: PublicUrl
    as_of: Date = Field(description="The date the source was read.")
    published: Date | None = Field(default=None, description="The date the document or version read was published.")
    title: str | None = None
    via: Annotated[str, AfterValidator(followable)] | None = Field(
        default=None,
        description="A faithful copy the primary source was read through, when it was "
        "not read directly (e.g. a mirror of config.json or a price file): its public URL or a description, never "
        "a local path or a search index's file number.",
    )

    @model_validator(mode="after")
    def _read_after_publication(self) -> Source:
        if self.published is not None and self.published > self.as_of:
            raise ValueError(
                f"published {self.published} is after as_of {self.as_of}: a source is read on or after the day it "
                "is published"
            )
        return self


# ---------------------------------------------------------------- families


Specialty = Literal[
    "chat", "code", "math", "reasoning", "multilingual", "long_context", "edge", "vision", "tool_use", "safety"
]


class Family(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    name: str
    vendor: str
    lineage: str = Field(description="Version lineage the family belongs to, e.g. 'llama', 'qwen'.")
    generation: str = Field(description="Version within the lineage, e.g. '3.1'; sortable text.")
    description: str
    url: PublicUrl
    positioned_for: list[Specialty] = Field(
        default_factory=list,
        description="The uses the vendor says it built the family for, main one first, as its page at 'url' states "
        "them (and the description repeats them): e.g. [code, tool_use] for 'agentic coding models'. Empty for a "
        "family positioned as general-purpose. The ranker gives a specialist a prior for its use case.",
    )


# ---------------------------------------------------------------- benchmarks


class BenchmarkDef(Strict):
    id: str
    name: str
    category: Literal[
        "knowledge",
        "reasoning",
        "commonsense",
        "truthfulness",
        "code",
        "math",
        "instruction_following",
        "chat",
        "long_context",
        "multilingual",
        "tool_use",
    ]
    higher_is_better: bool = True
    scale: Literal["percent", "elo"] = "percent"
    description: str
    url: PublicUrl


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
    global_layers: int | None = Field(
        default=None,
        ge=0,
        description="Count of attention layers that attend globally, where the pattern is not a regular 'every Nth' "
        "(config.json layer_types). Give this or global_every, not both.",
    )
    global_kv_heads: int | None = Field(
        default=None, gt=0, description="KV heads of the global layers, where they differ."
    )
    global_head_dim: int | None = Field(
        default=None, gt=0, description="Head dim of the global layers, where it differs."
    )
    global_values_are_keys: bool = Field(
        default=False, description="Global layers cache one tensor for keys and values (Gemma 4's attention_k_eq_v)."
    )
    kv_lora_rank: int | None = Field(default=None, gt=0, description="MLA: latent KV width.")
    qk_rope_head_dim: int | None = Field(default=None, gt=0, description="MLA: decoupled RoPE key width.")
    q_lora_rank: int | None = Field(default=None, gt=0, description="MLA: latent query width (compute only).")
    index_head_dim: int | None = Field(
        default=None,
        gt=0,
        description="Sparse attention with a lightning indexer (DeepSeek V3.2 DSA): the indexer's key width, "
        "cached per token and layer beside the KV cache.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Attention:
        if self.kind in ("sliding", "chunked") and not self.window:
            raise ValueError(f"attention kind {self.kind!r} needs 'window'")
        if self.kind == "mla" and not (self.kv_lora_rank and self.qk_rope_head_dim):
            raise ValueError("attention kind 'mla' needs 'kv_lora_rank' and 'qk_rope_head_dim'")
        if self.kind == "full" and (self.window or self.global_every or self.global_layers is not None):
            raise ValueError("attention kind 'full' takes no 'window', 'global_every' or 'global_layers'")
        if self.global_every and self.global_layers is not None:
            raise ValueError("give 'global_every' or 'global_layers', not both")
        return self


class LinearAttention(Strict):
    """Layers that keep a fixed-size recurrent state instead of a KV cache that grows with the context.

    One shape covers the kinds in use: a recurrent state of heads x key_head_dim x value_head_dim values per
    sequence and layer, plus a short-convolution state of (heads x value_head_dim + 2 x key_heads x key_head_dim)
    x (conv_kernel - 1) values. Read from config.json:

    - gated DeltaNet (Qwen3-Next, Qwen3.5): heads = linear_num_value_heads, key_heads = linear_num_key_heads,
      key_head_dim = linear_key_head_dim, value_head_dim = linear_value_head_dim, conv_kernel = linear_conv_kernel_dim;
    - Mamba-2 (Nemotron-H, Granite 4.0-H, Falcon-H1): heads = mamba_num_heads (or mamba_n_heads),
      key_heads = n_groups, key_head_dim = ssm_state_size (d_state), value_head_dim = mamba_head_dim,
      conv_kernel = conv_kernel (mamba_d_conv);
    - lightning / linear attention (MiniMax-01): heads = attention heads, key_head_dim = value_head_dim = head dim,
      conv_kernel 0.
    """

    kind: Literal["gated_deltanet", "mamba2", "lightning", "kimi_delta", "linear"]
    layers: int = Field(gt=0, description="Layers of this kind.")
    heads: int = Field(gt=0)
    key_heads: int = Field(default=0, ge=0, description="Key heads (DeltaNet) or groups (Mamba-2); 0 when not used.")
    key_head_dim: int = Field(gt=0, description="Key head width, or the SSM state size (d_state) for Mamba-2.")
    value_head_dim: int = Field(gt=0)
    conv_kernel: int = Field(default=0, ge=0, description="Short-convolution width; 0 when there is none.")
    state_dtype_bytes: float = Field(
        default=2.0,
        gt=0,
        description="Bytes per convolution-state value as engines keep it (2 for bf16).",
    )
    recurrent_dtype_bytes: float | None = Field(
        default=None,
        gt=0,
        description="Bytes per recurrent-state value where it differs (config mamba_ssm_dtype float32: 4).",
    )

    @property
    def recurrent_values(self) -> int:
        return self.heads * self.key_head_dim * self.value_head_dim

    @property
    def conv_values(self) -> int:
        if self.conv_kernel <= 1:
            return 0
        return (self.heads * self.value_head_dim + 2 * self.key_heads * self.key_head_dim) * (self.conv_kernel - 1)

    @property
    def state_bytes_per_layer(self) -> float:
        recurrent = self.recurrent_dtype_bytes or self.state_dtype_bytes
        return self.recurrent_values * recurrent + self.conv_values * self.state_dtype_bytes


class Moe(Strict):
    experts: int = Field(gt=1)
    active_experts: int = Field(ge=1)
    shared_experts: int = Field(default=0, ge=0)
    dense_layers: int = Field(default=0, ge=0, description="Leading layers with a dense FFN.")
    every: int = Field(
        default=1, ge=1, description="MoE FFN on every Nth layer after the dense ones (Llama 4 Maverick: 2)."
    )
    expert_intermediate_size: int | None = Field(default=None, gt=0, description="config.json moe_intermediate_size.")
    layers: int | None = Field(
        default=None, gt=0, description="MoE layers, where the layer pattern is irregular (Nemotron-H: the 'E' layers)."
    )
    expert_matrices: int = Field(
        default=3, ge=1, le=3, description="Weight matrices per expert: 3 gated (SwiGLU), 2 plain."
    )
    expert_hidden_size: int | None = Field(
        default=None, gt=0, description="Width experts work in, where they run in a latent space (Nemotron 3 Super)."
    )

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
    linear_attention: LinearAttention | None = None
    attention_layers: int | None = Field(
        default=None,
        ge=0,
        description="Layers that keep a KV cache. Default: every layer not counted in linear_attention. Give it "
        "where some layers have neither (Nemotron-H's MLP-only layers) or both (Falcon-H1's parallel hybrid).",
    )
    kv_shared_layers: int = Field(
        default=0, ge=0, description="Layers that reuse an earlier layer's KV cache and store none (Gemma 3n)."
    )
    moe: Moe | None = None
    lookup_params_b: float | None = Field(
        default=None,
        gt=0,
        description="Billions of parameters stored in tables a token reads a few rows of, beside the token embedding "
        "(Qwen3.8-Flash-Next's n-gram embedding): held in memory with the body's format, never streamed whole per "
        "decode step.",
    )

    @property
    def effective_head_dim(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden_size // self.attention_heads

    @property
    def kv_layers(self) -> int:
        """Layers that store their own KV cache."""
        if self.attention_layers is not None:
            n = self.attention_layers
        elif self.linear_attention is not None:
            n = self.layers - self.linear_attention.layers
        else:
            n = self.layers
        return max(n - self.kv_shared_layers, 0)

    @model_validator(mode="after")
    def _heads(self) -> Architecture:
        if self.head_dim is None and self.hidden_size % self.attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not a multiple of attention_heads "
                f"{self.attention_heads}; give head_dim explicitly"
            )
        if self.attention_heads % self.kv_heads:
            raise ValueError(f"attention_heads {self.attention_heads} is not a multiple of kv_heads {self.kv_heads}")
        if self.linear_attention is not None and self.linear_attention.layers > self.layers:
            raise ValueError("linear_attention.layers exceeds layers")
        if self.attention_layers is not None and self.attention_layers > self.layers:
            raise ValueError("attention_layers exceeds layers")
        if self.attention.global_layers is not None and self.attention.global_layers > self.layers:
            raise ValueError("attention.global_layers exceeds layers")
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
    "language_count",
    "formats",
    "reasoning",
    "tool_calling",
    "modalities",
    "positioned_for",
)

# Weight formats a vendor ships its checkpoints in (the first one listed is the main checkpoint).
ShippedFormat = Literal[
    "bf16",
    "fp16",
    "fp32",
    "fp8",
    "fp8_mxfp4",
    "mxfp8",
    "mxfp4",
    "nvfp4",
    "fp4",
    "int4",
    "int8",
    "w4a16",
    "w4a4",
    "gguf",
    "awq",
    "gptq",
    "mlx",
]


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
    moe: bool | None = Field(
        default=None,
        description="A mixture of experts. Implied by active_params_b or architecture.moe; state 'moe: false' for a "
        "dense model that has no architecture block.",
    )
    context_length: int = Field(gt=0, description="Official context length in tokens.")
    max_position_embeddings: int | None = Field(default=None, gt=0, description="config.json value.")
    context_note: str | None = Field(
        default=None,
        description="Why context_length differs from max_position_embeddings (a documented RoPE/YaRN extension, a "
        "vendor limit below the config's); required where they differ.",
    )
    architecture: Architecture | None = None
    modalities: list[Literal["text", "image", "audio", "video"]] = Field(
        default=["text"], description="Input modalities the model accepts."
    )
    formats: list[ShippedFormat] = Field(
        default_factory=list,
        description="Formats the vendor ships official weights in; the first is the main checkpoint "
        "(gpt-oss: mxfp4; DeepSeek-V3: fp8). Empty when not reported.",
    )
    reasoning: Literal["none", "always", "hybrid"] | None = Field(
        default=None,
        description="none: no thinking mode; always: a reasoning model that always thinks; hybrid: thinking can be "
        "switched on and off. None when not reported.",
    )
    tool_calling: bool | None = Field(default=None, description="The vendor documents tool/function calling.")
    languages: list[str] = Field(default_factory=list, description="ISO 639-1 codes the vendor lists.")
    language_count: int | None = Field(
        default=None,
        gt=0,
        description="How many languages the vendor says the model supports, where it gives a number without naming "
        "them all ('201 languages and dialects', 'over 140 languages', '35+ languages'): the number stated, a lower "
        "bound for 'over N' or 'N+'. Broad coverage that 'languages' cannot list; the languages it does name go "
        "in 'languages'. None when the vendor gives no number.",
    )
    license: str
    license_history: list[LicenseChange] = []
    specialties: list[Specialty] = []
    positioned_for: list[Specialty] = Field(
        default_factory=list,
        description="What the vendor says this model is for, where it differs from its family's positioned_for "
        "(gpt-oss-safeguard: safety classification, in the gpt-oss family); cited. Empty: the family's.",
    )
    benchmarks: list[BenchmarkScore] = []
    derived_from: str | None = Field(default=None, description="Model id this one was fine-tuned or distilled from.")
    snapshot_of: str | None = Field(
        default=None,
        description="Model id this is a later checkpoint of with the same architecture (a dated snapshot or update): "
        "size and layout must agree with it.",
    )
    sources: dict[str, Source]
    cite: dict[str, str] = Field(description="Fact name -> key of sources that backs it (modalities: optional).")
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
        self._cited()
        self._copies_marked()
        self._languages_counted()
        self._experts_stated()
        self._context_explained()
        return self

    def _copies_marked(self) -> None:
        """A fact read only through a copy (its source names a ``via``) is listed under ``unverified``, so that it is
        shown as unverified; benchmark scores read so need 'benchmarks' (or an entry naming the benchmark)."""

        def copied(key: str) -> bool:
            source = self.sources.get(key)
            return source is not None and source.via is not None

        unmarked = [f for f, key in self.cite.items() if copied(key) and f not in self.unverified]
        if "benchmarks" not in self.unverified:
            scores = sorted(
                {s.name for s in self.benchmarks if copied(s.source) and not any(s.name in u for u in self.unverified)}
            )
            if scores:
                unmarked.append(f"benchmarks ({', '.join(scores)})")
        if unmarked:
            raise ValueError(
                f"read only through a copy (the source cited has 'via') but not listed under unverified: "
                f"{'; '.join(unmarked)}. Add them to 'unverified', or cite the primary source read directly"
            )

    def _languages_counted(self) -> None:
        codes = self.languages
        bad = [c for c in codes if not re.fullmatch(r"[a-z]{2}", c)]
        if bad:
            raise ValueError(f"languages: {', '.join(bad)} is not an ISO 639-1 code (two lowercase letters)")
        if len(set(codes)) != len(codes):
            raise ValueError("languages lists a code twice")
        if self.language_count is not None and self.language_count < len(codes):
            raise ValueError(
                f"language_count {self.language_count} is below the {len(codes)} languages listed; it counts every "
                "language the vendor states, named or not"
            )

    def _experts_stated(self) -> None:
        """An MoE model records the parameters it uses per token: the speed estimate reads only those."""
        experts = self.architecture is not None and self.architecture.moe is not None
        if self.moe is False and (experts or self.active_params_b is not None):
            raise ValueError(
                "moe: false contradicts " + ("architecture.moe" if experts else "active_params_b") + " (a dense model)"
            )
        if (experts or self.moe) and self.active_params_b is None:
            raise ValueError(
                f"an MoE model ({'architecture.moe' if experts else 'moe: true'}) needs active_params_b, the "
                "parameters used per token; without it every estimate treats the model as dense"
            )
        if self.architecture is None and self.active_params_b is None and self.moe is None:
            raise ValueError(
                "say whether the model is a mixture of experts: 'moe: false' for a dense model, or active_params_b "
                "(the parameters used per token) for an MoE one; without an architecture block nothing else records it"
            )

    def _context_explained(self) -> None:
        mpe = self.max_position_embeddings
        if mpe is not None and mpe != self.context_length and not (self.context_note or "").strip():
            raise ValueError(
                f"context_length {self.context_length:,} differs from max_position_embeddings {mpe:,} (config.json): "
                "say why in context_note (a documented extension such as YaRN, or a vendor limit)"
            )

    def _cited(self) -> None:
        for fact in CITABLE_MODEL_FACTS:
            value = getattr(self, fact)
            if value in (None, []) or fact == "modalities":
                continue
            key = self.cite.get(fact)
            if key is None:
                raise ValueError(f"fact {fact!r} has no source: add it to 'cite'")
            if key not in self.sources:
                raise ValueError(f"cite[{fact!r}] names source {key!r}, which is not under 'sources'")
        for fact in self.cite:
            if fact not in CITABLE_MODEL_FACTS:
                raise ValueError(f"cite names unknown fact {fact!r}; allowed: {', '.join(CITABLE_MODEL_FACTS)}")
        for score in self.benchmarks:
            if score.source not in self.sources:
                raise ValueError(f"benchmark {score.name} names source {score.source!r}, which is not under 'sources'")
        for change in self.license_history:
            if change.source not in self.sources:
                raise ValueError(f"license_history names source {change.source!r}, which is not under 'sources'")
        read = self.sources[self.cite["release_date"]].as_of
        if self.release_date > read:
            raise ValueError(
                f"release_date {self.release_date} is after the date its source was read ({read}): a release is "
                "recorded once it has happened"
            )


# ---------------------------------------------------------------- licences


class Threshold(Strict):
    """The figures above which a licence term binds; exceeding any one of them is enough (Kimi K2's display duty:
    more than 100 million monthly active users, or more than US$20 million monthly revenue). Below all of them the
    term does not apply."""

    monthly_active_users: int | None = Field(default=None, gt=0)
    revenue_usd_per_month: int | None = Field(default=None, gt=0)
    revenue_usd_per_year: int | None = Field(
        default=None, gt=0, description="A yearly figure, or one over any 12 consecutive months."
    )
    whose: str | None = Field(
        default=None,
        description="Whose users or revenue count, in the licence's words (e.g. 'the licensee and its affiliates').",
    )

    @model_validator(mode="after")
    def _some_figure(self) -> Threshold:
        if not (self.monthly_active_users or self.revenue_usd_per_month or self.revenue_usd_per_year):
            raise ValueError(
                "a threshold needs a figure: monthly_active_users, revenue_usd_per_month or revenue_usd_per_year"
            )
        return self


class Term(Strict):
    """One licence term: its value, the clause it rests on, and where that clause is."""

    value: str | int | bool
    quote: str | None = Field(default=None, description="Short clause quote; required unless value is 'not_reported'.")
    url: PublicUrl | None = Field(default=None, description="Defaults to the licence URL.")
    clause: str | None = Field(
        default=None,
        description="Where the term stands in the licence ('section 2', 'the appendix of prohibited uses'); the advice "
        "names it where the catalog has not read the term.",
    )
    above: Threshold | None = Field(
        default=None,
        description="The term binds only above these figures (hosted_service and attribution only; a threshold on "
        "the whole grant is mau_threshold or revenue_threshold_*).",
    )
    note: str | None = None

    @model_validator(mode="after")
    def _quoted(self) -> Term:
        if self.value != "not_reported" and not self.quote:
            raise ValueError("a licence term needs a clause quote (or value 'not_reported')")
        if self.above is not None and self.value == "not_reported":
            raise ValueError("a term not read ('not_reported') cannot state a threshold: read the clause first")
        return self


# A clause that states a figure a use is judged by: money or users (the grant or refusal then needs its threshold).
_STATED_FIGURE = re.compile(
    r"(?:US\$|USD|\$)\s?\d[\d,.]*(?:\s?(?:million|billion|bn\b|[mbk]\b))?|\d[\d,.]*\s?(?:million|billion|bn\b|m\b)"
    r"|\bdollars\b|monthly active users|\bMAU\b",
    re.IGNORECASE,
)
THRESHOLD_TERMS = ("hosted_service", "attribution")


YesNoConditional = Literal["yes", "no", "conditional"]


class LicenseTerms(Strict):
    commercial_use: Term
    mau_threshold: Term | None = Field(
        default=None, description="Monthly active users above which a separate licence is needed."
    )
    attribution: Term | None = None
    derivative_naming: Term | None = None
    outputs_to_train_other_models: Term | None = Field(
        default=None, description="forbidden | allowed_with_naming | restrictions_carry_over | allowed"
    )
    acceptable_use_policy: Term | None = None
    non_production_only: Term | None = None
    hosted_service: Term | None = Field(default=None, description="allowed | requires_license | forbidden")
    eu_multimodal_carve_out: Term | None = None
    excluded_territories: Term | None = Field(
        default=None,
        description="Territories where the licence grants nothing: comma-separated ISO 3166 codes, 'EU' for the whole "
        "European Union (e.g. 'EU,GB,KR').",
    )
    revenue_threshold_usd_per_month: Term | None = Field(
        default=None,
        description="Monthly revenue (USD) above which the licence's grant ends and a separate licence is needed.",
    )
    revenue_threshold_usd_per_year: Term | None = Field(
        default=None,
        description="The same for a limit the licence states per year (MiniMax Community: 20 million a year).",
    )
    redistribution: Term | None = None
    modification: Term | None = None
    threshold_exemptions: Term | None = Field(
        default=None,
        description="Uses the licence exempts from its thresholded terms (Kimi K3 section 4: internal use; use "
        "through the vendor's own products or certified partners).",
    )

    @model_validator(mode="after")
    def _values(self) -> LicenseTerms:
        allowed: dict[str, set[str | bool]] = {
            "commercial_use": {"yes", "no", "conditional"},
            "outputs_to_train_other_models": {
                "forbidden",
                "allowed_with_naming",
                "restrictions_carry_over",
                "allowed",
                "not_reported",
            },
            "hosted_service": {"allowed", "requires_license", "forbidden", "not_reported"},
            "non_production_only": {True, False, "not_reported"},
            "eu_multimodal_carve_out": {True, False, "not_reported"},
        }
        for name, values in allowed.items():
            term = getattr(self, name)
            if term is not None and term.value not in values:
                raise ValueError(f"terms.{name}.value must be one of {sorted(map(str, values))}, not {term.value!r}")
        for name in ("revenue_threshold_usd_per_month", "revenue_threshold_usd_per_year"):
            term = getattr(self, name)
            if term is not None and not (
                term.value == "not_reported"
                or (isinstance(term.value, int) and not isinstance(term.value, bool) and term.value > 0)
            ):
                raise ValueError(f"terms.{name}.value must be a positive integer or 'not_reported'")
        if self.excluded_territories is not None and self.excluded_territories.value != "not_reported":
            codes = str(self.excluded_territories.value).split(",")
            if not all(c.strip().isupper() and 2 <= len(c.strip()) <= 3 for c in codes):
                raise ValueError(
                    "terms.excluded_territories.value must be comma-separated ISO codes such as 'EU,GB,KR'"
                )
        if self.mau_threshold is not None and not (
            self.mau_threshold.value == "not_reported"
            or (
                isinstance(self.mau_threshold.value, int)
                and not isinstance(self.mau_threshold.value, bool)
                and self.mau_threshold.value > 0
            )
        ):
            raise ValueError("terms.mau_threshold.value must be a positive integer or 'not_reported'")
        self._thresholds_where_stated()
        return self

    def _thresholds_where_stated(self) -> None:
        """A term that grants or refuses above a figure its clause states records that figure."""
        for name, term in self:
            if term is not None and term.above is not None and name not in THRESHOLD_TERMS:
                raise ValueError(
                    f"terms.{name}.above: only {' and '.join(THRESHOLD_TERMS)} take a threshold; a limit on the whole "
                    "grant is mau_threshold, revenue_threshold_usd_per_month or revenue_threshold_usd_per_year"
                )
        hs = self.hosted_service
        if hs is not None and hs.above is not None and hs.value not in ("requires_license", "forbidden"):
            raise ValueError(
                "terms.hosted_service.above: a threshold says where hosting stops being allowed, so the value is "
                f"requires_license or forbidden, not {hs.value!r}"
            )
        whole = bool(self.mau_threshold or self.revenue_threshold_usd_per_month or self.revenue_threshold_usd_per_year)
        anywhere = whole or any(getattr(self, n) is not None and getattr(self, n).above for n in THRESHOLD_TERMS)
        judged = {  # term -> (grants or refuses conditionally, a threshold recorded elsewhere covers it)
            "commercial_use": (self.commercial_use.value == "conditional", anywhere),
            "hosted_service": (hs is not None and hs.value in ("requires_license", "forbidden"), whole),
            "attribution": (self.attribution is not None and self.attribution.value != "not_reported", False),
        }
        for name, (conditional, covered) in judged.items():
            term = getattr(self, name)
            if not conditional or covered or term.above is not None:
                continue
            figure = _STATED_FIGURE.search(" ".join(x for x in (term.quote, term.note, str(term.value)) if x))
            if figure:
                raise ValueError(
                    f"terms.{name} grants or refuses above a figure its clause states ({figure.group(0)!r}) but "
                    f"records no threshold: add {'above' if name in THRESHOLD_TERMS else 'the thresholded term'} "
                    "(monthly_active_users, revenue_usd_per_month or revenue_usd_per_year)"
                )


class License(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    name: str
    spdx: str | None = None
    hf_tag: str | None = Field(default=None, description="The license tag on Hugging Face model pages.")
    url: PublicUrl
    as_of: Date = Field(description="The date the licence text was read.")
    published: Date | None = Field(default=None, description="The date of the version of the text read.")
    effective_date: Date | None = None
    category: Literal["permissive", "open_rail", "community", "research", "non_commercial", "non_production"]
    summary: str
    terms: LicenseTerms
    superseded_by: str | None = Field(
        default=None, description="Licence id that replaced this one for the same weights."
    )

    @model_validator(mode="after")
    def _read_after_publication(self) -> License:
        if self.published is not None and self.published > self.as_of:
            raise ValueError(f"published {self.published} is after as_of {self.as_of}, the date the text was read")
        return self


# ---------------------------------------------------------------- GPUs


PricingKind = Literal["on_demand", "spot", "committed", "msrp", "street", "list"]


class Price(Strict):
    usd: float = Field(gt=0)
    kind: str = Field(description="What was priced, in words: e.g. 'on-demand, RunPod Community', 'launch MSRP'.")
    pricing: PricingKind = Field(
        description="on_demand / spot / committed: rental per GPU-hour; msrp / street / list: purchase price."
    )
    provider: str | None = Field(default=None, description="Cloud provider or seller, e.g. 'RunPod', 'AWS'.")
    as_of: Date = Field(description="The date the price held: the date read for rentals, the announcement for an MSRP.")
    source: Source


GPU_CITABLE = ("memory", "memory_bandwidth_gbps", "fp16_tflops", "int8_tops", "tdp_w", "usable_memory_fraction")
GPU_OPTIONAL_CITES = ("interconnect_gbps", "gpus_per_node", "fp8", "fp4", "purchase")
_MEMORY_STATED = r"^\d+(\.\d+)?\s?(GB|GiB|TB)\b.*$"


def stated_memory_bytes(stated: str) -> int:
    """'80GB' -> 80 x 2^30: vendors state DRAM/HBM capacity in binary gigabytes."""
    import re

    match = re.match(r"^(\d+(?:\.\d+)?)\s?(GB|GiB|TB)", stated)
    if match is None:
        raise ValueError(f"memory {stated!r} is not of the form '24GB'")
    value, unit = float(match.group(1)), match.group(2)
    return int(value * 2**30 * (1024 if unit == "TB" else 1))


class MemoryOption(Strict):
    """One memory configuration of a device sold with several (Apple chips, DGX Spark, Strix Halo)."""

    stated: str = Field(pattern=_MEMORY_STATED, description="As the vendor states it, e.g. '24GB'.")
    memory_bytes: int | None = Field(default=None, gt=0, description="Default: stated x 2^30.")
    memory_bandwidth_gbps: float | None = Field(
        default=None, gt=0, description="Where this configuration has its own bandwidth (a binned chip)."
    )
    default: bool = Field(default=False, description="The configuration the device's plain name means.")
    usable_memory_fraction: float | None = Field(
        default=None, gt=0, le=1, description="Where this configuration's GPU share of memory differs (measured)."
    )
    tdp_w: float | None = Field(default=None, gt=0, description="Where this configuration's power differs.")
    purchase: Price | None = None
    note: str | None = None


class Gpu(Strict):
    """A device a model can run on: a GPU, an accelerator, an Apple chip, an edge box or a CPU server."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    name: str
    aliases: list[str] = []
    vendor: Literal["NVIDIA", "AMD", "Apple", "Intel", "Ampere", "AWS", "Google", "Huawei", "Qualcomm", "Generic"]
    segment: Literal["consumer", "workstation", "datacenter", "apple", "edge", "cpu"]
    memory_stated: str | None = Field(
        default=None, pattern=_MEMORY_STATED, description="Memory per device as the vendor states it, e.g. '80GB HBM3'."
    )
    memory_bytes: int | None = Field(default=None, gt=0, description="Default: the stated figure x 2^30.")
    memory_type: str | None = Field(default=None, description="e.g. GDDR6X, HBM3e, LPDDR5X, DDR5-4800 x 12 channels.")
    memory_options: list[MemoryOption] = Field(
        default_factory=list,
        description="Several memory configurations: the loader makes one device per option, id '<id>-<24gb>'.",
    )
    memory_bandwidth_gbps: float = Field(gt=0)
    fp16_tflops: float | None = Field(
        default=None, gt=0, description="Dense FP16/BF16 tensor throughput (no sparsity)."
    )
    int8_tops: float | None = Field(default=None, gt=0, description="Dense INT8 tensor throughput (no sparsity).")
    fp8: bool | None = None
    fp4: bool | None = Field(default=None, description="Hardware FP4 (MXFP4/NVFP4) tensor support (Blackwell, MI355X).")
    tdp_w: float | None = Field(default=None, gt=0)
    launch: str | None = Field(default=None, description="Year or YYYY-MM(-DD).")
    unified_memory: bool = False
    usable_memory_fraction: float = Field(
        default=1.0, gt=0, le=1, description="Share of memory a model may use (Apple: the GPU wired-memory limit)."
    )
    gpus_per_node: int | None = Field(default=None, gt=0, description="Devices per server node (HGX: 8).")
    interconnect: Literal["nvlink", "xgmi", "pcie", "ethernet", "unified", "none"] | None = None
    interconnect_gbps: float | None = Field(
        default=None, gt=0, description="Per-device GPU-to-GPU bandwidth, one direction."
    )
    purchase: Price | None = None
    cloud_hourly: list[Price] = []
    sources: dict[str, Source]
    cite: dict[str, str]
    unverified: list[str] = []
    notes: str | None = None

    @property
    def memory_gb(self) -> float:
        """Memory in 10^9 bytes (what every estimate compares with)."""
        return (self.memory_bytes or 0) / 1e9

    @model_validator(mode="after")
    def _cited(self) -> Gpu:
        if self.memory_options:
            if self.memory_stated is not None:
                raise ValueError("give memory_stated or memory_options, not both")
            if sum(o.default for o in self.memory_options) != 1:
                raise ValueError("exactly one memory option must be the default")
        elif self.memory_stated is None:
            raise ValueError("memory_stated is missing (or give memory_options)")
        elif self.memory_bytes is None:
            object.__setattr__(self, "memory_bytes", stated_memory_bytes(self.memory_stated))
        for fact in GPU_CITABLE:
            value = self.memory_stated or self.memory_options if fact == "memory" else getattr(self, fact)
            if not value or (fact == "usable_memory_fraction" and value == 1.0):
                continue
            key = self.cite.get(fact)
            if key is None:
                raise ValueError(f"fact {fact!r} has no source: add it to 'cite'")
            if key not in self.sources:
                raise ValueError(f"cite[{fact!r}] names source {key!r}, which is not under 'sources'")
        for fact, key in self.cite.items():
            if fact not in GPU_CITABLE + GPU_OPTIONAL_CITES:
                raise ValueError(
                    f"cite names unknown fact {fact!r}; allowed: {', '.join(GPU_CITABLE + GPU_OPTIONAL_CITES)}"
                )
            if key not in self.sources:
                raise ValueError(f"cite[{fact!r}] names source {key!r}, which is not under 'sources'")
        for price in self.cloud_hourly:
            if price.pricing not in ("on_demand", "spot", "committed"):
                raise ValueError(f"cloud_hourly prices are rentals (on_demand, spot, committed), not {price.pricing!r}")
        if self.purchase is not None and self.purchase.pricing not in ("msrp", "street", "list"):
            raise ValueError(f"purchase.pricing must be msrp, street or list, not {self.purchase.pricing!r}")
        return self

    def expand(self) -> list[Gpu]:
        """One device per memory option (the default one also answers to the plain name)."""
        if not self.memory_options:
            return [self]
        out = []
        for option in self.memory_options:
            slug = option.stated.lower().replace(" ", "")
            suffix = f" {option.stated}"
            names = [f"{self.name}{suffix}", *(f"{a}{suffix}" for a in self.aliases)]
            if option.default:
                names += [self.name, *self.aliases]
            data = self.model_dump(exclude={"memory_options", "memory_bytes", "id", "name", "aliases"})
            data.update(
                id=f"{self.id}-{slug}",
                name=f"{self.name}{suffix}",
                aliases=[n for n in names if n != f"{self.name}{suffix}"],
                memory_stated=option.stated,
                memory_bytes=option.memory_bytes,
                memory_bandwidth_gbps=option.memory_bandwidth_gbps or self.memory_bandwidth_gbps,
                usable_memory_fraction=option.usable_memory_fraction or self.usable_memory_fraction,
                tdp_w=option.tdp_w or self.tdp_w,
                purchase=option.purchase.model_dump() if option.purchase else data.get("purchase"),
                notes=" ".join(x for x in (self.notes, option.note) if x) or None,
            )
            out.append(Gpu.model_validate(data))
        return out


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
    deprecation_date: Date | None = Field(
        default=None, description="The provider's retirement date; the tools leave the endpoint out after it."
    )
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
    """A model file: its models, and the families, licences and benchmarks they introduce."""

    families: list[Family] = []
    licenses: list[License] = []
    benchmarks: list[BenchmarkDef] = []
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
    scope: Literal["all", "linear", "experts"] = Field(
        description="'linear': only the transformer's linear layers; embeddings and lm_head stay 16-bit. "
        "'all': bits_per_weight is an average over every weight (GGUF files). 'experts': only the routed "
        "experts of an MoE model (gpt-oss's MXFP4 checkpoint); a dense model keeps 16 bits throughout."
    )
    family: Literal["float", "bitsandbytes", "gguf", "gptq_awq", "fp8", "mxfp4", "nvfp4", "mlx", "exl"]
    engines: list[str] = Field(description="Serving engines that load this format.")
    needs_fp8_hardware: bool = False
    needs_fp4_hardware: bool = False
    weight_only_fallback: list[str] = Field(
        default_factory=list,
        description="Engines that still run the format on a device without the FP8 or FP4 tensor cores it needs, by "
        "dequantising the weights inside a 16-bit matmul (weight-only), more slowly.",
    )
    other_bits: float = Field(
        default=16,
        gt=0,
        le=32,
        description="Bits per weight outside the scope (a mixed checkpoint: FP8 attention with MXFP4 experts has 8).",
    )
    engine_sources: dict[str, Source] = Field(
        default_factory=dict, description="Where an engine's or a fallback's support was read, by engine."
    )
    quality: str = Field(description="What the source says about quality loss, in our words.")
    perplexity_delta: float | None = Field(
        default=None, description="Perplexity increase on the source's reference model."
    )
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
    engine: str = Field(
        description="transformers, vllm, sglang, llama.cpp (Ollama and LM Studio count as llama.cpp), "
        "mlx, exllama, tensorrt-llm."
    )
    engine_version: str | None = Field(default=None, description="Version or build as published.")
    quantization: str
    metric: Literal["decode_tokens_per_s", "prefill_tokens_per_s", "peak_memory_gb", "weights_gb"]
    value: float = Field(gt=0)
    batch_size: int = Field(
        default=1, ge=1, description="Concurrent sequences; decode figures are aggregate over them."
    )
    num_gpus: int = Field(default=1, ge=1)
    split_mode: Literal["layer", "row", "tensor", "pipeline", "expert"] | None = Field(
        default=None, description="How several GPUs share the model (llama.cpp's default is layer)."
    )
    context_tokens: int | None = None
    backend: str | None = Field(
        default=None, description="cuda, rocm, vulkan, metal, sycl or cpu, where the source says."
    )
    use_for_calibration: bool = True
    held_out: str | None = Field(
        default=None,
        pattern=r"^fresh-\d{4}-\d{2}-\d{2}$",
        description="The fresh set the row was gathered in ('fresh-YYYY-MM-DD'): rows the estimator had not seen when "
        "its first-run error was recorded in docs/accuracy.md. Fitted on only once use_for_calibration is true.",
    )
    quote: str | None = Field(default=None, description="The published figure in the source's own words or table row.")
    note: str | None = None
    source: Source


class MeasurementsFile(Strict):
    measurements: list[Measurement]


# ---------------------------------------------------------------- independent evaluations


class EvaluationScore(Strict):
    model: str = Field(description="Catalog model id.")
    value: float
    entry: str = Field(description="The model's name as the leaderboard lists it.")
    ci: float | None = Field(default=None, ge=0, description="Confidence half-width, where published.")


class Evaluation(Strict):
    """A dated, independent evaluation covering many models (not vendor-reported)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    name: str
    description: str
    scale: Literal["elo", "percent", "index"]
    higher_is_better: bool = True
    benchmark: str | None = Field(
        default=None,
        description="The benchmarks.yaml id its scores are a reading of (ArenaElo for LMArena, LiveBench for "
        "LiveBench), so coverage counts them; None when it measures no catalog benchmark.",
    )
    source: Source
    scores: list[EvaluationScore]


class EvaluationsFile(Strict):
    evaluations: list[Evaluation]


# ---------------------------------------------------------------- adoption (practice signals)


AdoptionKind = Literal[
    "hf_downloads_30d",
    "hf_likes",
    "ollama_pulls",
    "lmstudio_downloads",
    "openrouter_weekly_tokens",
]
ADOPTION_UNITS = {
    "hf_downloads_30d": "downloads of the Hugging Face repo in the 30 days before the reading (the Hub API's count)",
    "hf_likes": "likes of the Hugging Face repo",
    "ollama_pulls": "pulls of the Ollama library model, all tags, since it was published",
    "lmstudio_downloads": "downloads of the LM Studio catalogue model",
    "openrouter_weekly_tokens": "tokens (input and output) routed to the model on OpenRouter in the week ending as_of",
}


class Adoption(Strict):
    """How much a model is used in practice, read from a source independent of its vendor's claims: one count,
    of one thing (a repo, a library name, an API slug), on the date the source gives (``source.published``, else
    the date read)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="'<model>.<kind>' or '<model>.<kind>.<n>'.")
    model: str = Field(description="Catalog model id.")
    kind: AdoptionKind
    value: float = Field(ge=0, description="The count, in the unit of its kind (catalog.schema.ADOPTION_UNITS).")
    entry: str = Field(description="What was counted: a Hugging Face repo id, an Ollama name, an OpenRouter slug.")
    source: Source
    note: str | None = None

    @model_validator(mode="after")
    def _counted(self) -> Adoption:
        if self.kind.startswith("hf_") and not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", self.entry):
            raise ValueError(
                f"entry {self.entry!r} of a {self.kind} reading must be a Hugging Face repo id (OWNER/NAME)"
            )
        if self.kind != "openrouter_weekly_tokens" and self.value != int(self.value):
            raise ValueError(f"a {self.kind} reading is a whole count, not {self.value}")
        return self


class AdoptionFile(Strict):
    adoption: list[Adoption]


class Rental(Price):
    """A rental price of a catalog device, kept apart from the device's specification."""

    gpu: str = Field(description="Catalog device id (after memory options are expanded).")
    gpus_per_instance: int | None = Field(
        default=None, gt=0, description="GPUs in the instance priced; usd is per GPU."
    )
    region: str | None = None


class GpuPricesFile(Strict):
    rentals: list[Rental]
