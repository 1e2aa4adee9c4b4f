"""Map a transformers config.json onto the catalog's facts: architecture, context, formats, modalities.

Only what the config states is mapped, never guessed, so a comparison with the catalog (``advisor catalog
refresh``) looks at the config's own values. The field meanings are in ``catalog.schema``.
"""

from __future__ import annotations

from typing import Any

# Layer kinds as config.json names them (layer_types, layers_block_type, hybrid_override_pattern).
_ATTENTION_KINDS = {"full_attention", "sliding_attention", "chunked_attention", "attention", "hybrid", "*"}
_LINEAR_KINDS = {"linear_attention", "mamba", "M"}
_MOE_KINDS = {"moe", "E"}
_MLP_KINDS = {"mlp", "-"}

# quantization_config.quant_method (and its sub-format) -> the catalog's shipped-format name.
_QUANT_METHODS = {"fp8": "fp8", "fbgemm_fp8": "fp8", "mxfp4": "mxfp4", "awq": "awq", "gptq": "gptq", "mlx": "mlx"}
_MODELOPT_ALGOS = {"FP8": "fp8", "NVFP4": "nvfp4", "MXFP8": "mxfp8", "W4A16_AWQ": "awq"}
_COMPRESSED_FORMATS = {
    "float-quantized": "fp8",
    "nvfp4-pack-quantized": "nvfp4",
    "mxfp4-pack-quantized": "mxfp4",
    "pack-quantized": "w4a16",
    "int-quantized": "int8",
}


def _getter(cfg: dict):
    def get(*keys: str) -> Any:
        return next((cfg[k] for k in keys if cfg.get(k) is not None), None)

    return get


def _layer_counts(cfg: dict, layers: int | None) -> dict[str, int] | None:
    """How many layers of each kind (attention, linear, moe, mlp) a layer-pattern key lists, if any."""
    pattern = cfg.get("hybrid_override_pattern")  # Nemotron-H: '*' attention, 'M' Mamba-2, '-' MLP, 'E' MoE
    kinds: list[str] | None = list(pattern) if isinstance(pattern, str) and pattern else None
    for key in ("layers_block_type", "layer_types"):
        if kinds is None and isinstance(cfg.get(key), list) and cfg[key]:
            kinds = [str(k) for k in cfg[key]]
    if kinds is not None:
        return {
            "attention": sum(k in _ATTENTION_KINDS for k in kinds),
            "linear": sum(k in _LINEAR_KINDS for k in kinds),
            "moe": sum(k in _MOE_KINDS for k in kinds),
            "mlp": sum(k in _MLP_KINDS for k in kinds),
            "total": len(kinds),
        }
    if layers is None:
        return None
    if isinstance(
        cfg.get("attn_layer_indices"), list
    ):  # Bamba / Granite-H: attention at these indices, Mamba-2 elsewhere
        n = len(cfg["attn_layer_indices"])
        return {"attention": n, "linear": layers - n, "moe": 0, "mlp": 0, "total": layers}
    if isinstance(cfg.get("attn_type_list"), list):  # MiniMax-01: 0 lightning (linear), 1 softmax
        n = sum(1 for t in cfg["attn_type_list"] if t == 1)
        return {"attention": n, "linear": len(cfg["attn_type_list"]) - n, "moe": 0, "mlp": 0, "total": layers}
    lin_cfg = cfg.get("linear_attn_config")
    if isinstance(lin_cfg, dict) and isinstance(lin_cfg.get("kda_layers"), list):  # Kimi Linear
        n = len(lin_cfg["kda_layers"])
        return {"attention": layers - n, "linear": n, "moe": 0, "mlp": 0, "total": layers}
    interval = cfg.get("full_attention_interval")  # Qwen3-Next: every Nth layer is full attention
    if isinstance(interval, int) and interval > 0 and cfg.get("linear_num_value_heads"):
        n = layers // interval
        return {"attention": n, "linear": layers - n, "moe": 0, "mlp": 0, "total": layers}
    return None


def _global_pattern(layer_types: list) -> dict[str, int]:
    """Sliding/full layer_types as global_every (a regular every-Nth pattern) or global_layers (a count)."""
    full = [i for i, t in enumerate(layer_types) if t == "full_attention"]
    if not full or not any(t in ("sliding_attention", "chunked_attention") for t in layer_types):
        return {}
    every = full[0] + 1
    if full == list(range(every - 1, len(layer_types), every)):
        return {"global_every": every}
    return {"global_layers": len(full)}


def _attention(cfg: dict, get, head_dim: int | None) -> dict[str, Any]:
    if cfg.get("kv_lora_rank"):
        att: dict[str, Any] = {
            "kind": "mla",
            "kv_lora_rank": cfg["kv_lora_rank"],
            "qk_rope_head_dim": cfg.get("qk_rope_head_dim"),
        }
        if cfg.get("q_lora_rank"):
            att["q_lora_rank"] = cfg["q_lora_rank"]
        if cfg.get("index_head_dim"):  # DeepSeek V3.2 sparse attention: the lightning indexer's key width
            att["index_head_dim"] = cfg["index_head_dim"]
        return att
    layer_types = cfg.get("layer_types") if isinstance(cfg.get("layer_types"), list) else None
    if cfg.get("attention_chunk_size"):
        att = {"kind": "chunked", "window": cfg["attention_chunk_size"]}
        nope = cfg.get("no_rope_layers")
        if isinstance(nope, list) and nope and 0 in nope:
            att["global_every"] = nope.index(0) + 1
    elif (
        cfg.get("sliding_window")
        and cfg.get("use_sliding_window", True) is not False
        and (layer_types is None or "sliding_attention" in layer_types)
    ):
        att = {"kind": "sliding", "window": cfg["sliding_window"]}
        pattern = cfg.get("sliding_window_pattern")
        if layer_types:
            att.update(_global_pattern(layer_types))
        elif isinstance(pattern, int) and pattern > 1:
            att["global_every"] = pattern
    else:
        return {"kind": "full"}
    global_kv = get("num_global_key_value_heads", "global_num_key_value_heads")
    if global_kv and global_kv != get("num_key_value_heads"):
        att["global_kv_heads"] = global_kv
    global_dim = get("global_head_dim")
    if global_dim and global_dim != head_dim:
        att["global_head_dim"] = global_dim
    if cfg.get("attention_k_eq_v"):
        att["global_values_are_keys"] = True
    return att


def _linear_attention(cfg: dict, get, arch: dict, counts: dict | None) -> dict[str, Any] | None:
    """The recurrent-state layers: gated DeltaNet, Mamba-2, MiniMax lightning or Kimi delta attention."""
    layers = arch.get("layers")
    lin: dict[str, Any]
    if get("linear_num_value_heads"):
        lin = {
            "kind": "gated_deltanet",
            "heads": get("linear_num_value_heads"),
            "key_heads": get("linear_num_key_heads"),
            "key_head_dim": get("linear_key_head_dim"),
            "value_head_dim": get("linear_value_head_dim"),
            "conv_kernel": get("linear_conv_kernel_dim"),
        }
    elif get("mamba_num_heads", "mamba_n_heads", "ssm_state_size", "mamba_d_state"):
        heads = get("mamba_num_heads", "mamba_n_heads")
        value_dim = get("mamba_head_dim", "mamba_d_head")
        if value_dim is None and heads and get("mamba_expand") and arch.get("hidden_size"):
            value_dim = get("mamba_expand") * arch["hidden_size"] // heads
        lin = {
            "kind": "mamba2",
            "heads": heads,
            "key_heads": get("n_groups", "mamba_n_groups", "ngroups"),
            "key_head_dim": get("ssm_state_size", "mamba_d_state"),
            "value_head_dim": value_dim,
            "conv_kernel": get("conv_kernel", "mamba_d_conv"),
        }
    elif isinstance(cfg.get("attn_type_list"), list) and 0 in cfg["attn_type_list"]:
        dim = arch.get("head_dim") or (
            arch["hidden_size"] // arch["attention_heads"]
            if arch.get("hidden_size") and arch.get("attention_heads")
            else None
        )
        lin = {"kind": "lightning", "heads": arch.get("attention_heads"), "key_head_dim": dim, "value_head_dim": dim}
    elif isinstance(cfg.get("linear_attn_config"), dict) and cfg["linear_attn_config"].get("kda_layers"):
        kda = cfg["linear_attn_config"]
        lin = {
            "kind": "kimi_delta",
            "heads": kda.get("num_heads"),
            "key_heads": kda.get("num_heads"),
            "key_head_dim": kda.get("head_dim"),
            "value_head_dim": kda.get("head_dim"),
            "conv_kernel": kda.get("short_conv_kernel_size"),
        }
    else:
        return None
    if counts is not None:
        lin["layers"] = counts["linear"]
        attention = counts["attention"]
    else:  # no layer pattern: a parallel hybrid (Falcon-H1), every layer has both mixers
        lin["layers"] = layers
        attention = layers
    if (
        layers is not None
        and attention is not None
        and lin["layers"] is not None
        and attention != layers - lin["layers"]
    ):
        arch["attention_layers"] = attention
    if str(cfg.get("mamba_ssm_dtype", "")).lower() in ("float32", "fp32"):
        lin["recurrent_dtype_bytes"] = 4
    order = (
        "kind",
        "layers",
        "heads",
        "key_heads",
        "key_head_dim",
        "value_head_dim",
        "conv_kernel",
        "recurrent_dtype_bytes",
    )
    return {k: lin[k] for k in order if lin.get(k) is not None}


def _moe(cfg: dict, get, counts: dict | None) -> dict[str, Any] | None:
    experts = get("num_experts", "n_routed_experts", "num_local_experts", "moe_num_experts")
    if not isinstance(experts, int) or experts <= 1:
        return None
    moe: dict[str, Any] = {
        "experts": experts,
        "active_experts": get(
            "num_experts_per_tok", "moe_topk", "num_experts_per_token", "experts_per_token", "top_k_experts", "moe_k"
        )
        or 1,
    }
    shared = get("n_shared_experts", "num_shared_experts", "moe_num_shared_experts")
    if shared is None and (get("shared_expert_intermediate_size", "shared_intermediate_size") or 0) > 0:
        shared = 1
    if shared is None and str(cfg.get("model_type", "")).startswith("llama4"):
        shared = 1  # every Llama 4 MoE layer has one shared expert; the config has no key for it
    if shared:
        moe["shared_experts"] = shared
    if get("first_k_dense_replace"):
        moe["dense_layers"] = get("first_k_dense_replace")
    every = get("interleave_moe_layer_step", "decoder_sparse_step")
    if isinstance(every, int) and every > 1:
        moe["every"] = every
    width = get("moe_intermediate_size") or get(
        "intermediate_size"
    )  # gpt-oss, Granite, Llama 4: intermediate_size is the expert's
    if width:
        moe["expert_intermediate_size"] = width
    if counts is not None and counts["moe"]:
        moe["layers"] = counts["moe"]
    if str(get("mlp_hidden_act", "hidden_act") or "").lower() == "relu2":
        moe["expert_matrices"] = 2  # squared-ReLU experts have no gate matrix
    return moe


def _has_dense_ffn(cfg: dict, moe: dict | None, counts: dict | None) -> bool:
    if moe is None:
        return True
    return bool(
        moe.get("dense_layers")
        or moe.get("every", 1) > 1
        or cfg.get("mlp_only_layers")
        or (counts is not None and counts["mlp"])
    )


def architecture_from_config(config: dict) -> dict:
    """Map a transformers config.json onto the catalog's architecture fields (text part of multimodal configs).

    Fields the config does not state are left out (never guessed), so a comparison with the catalog
    only ever looks at what the config says. See ``catalog.schema.Architecture`` for each field.
    """
    cfg = config.get("text_config") or config
    get = _getter(cfg)
    counts_layers = get("num_hidden_layers", "n_layer", "num_layers")
    counts = _layer_counts(cfg, counts_layers)
    arch: dict[str, Any] = {
        "layers": counts_layers or (counts["total"] if counts else None),
        "hidden_size": get("hidden_size", "d_model", "n_embd"),
        "attention_heads": get("num_attention_heads", "n_head"),
        "kv_heads": get("num_key_value_heads", "num_kv_heads", "n_head_kv"),
        "head_dim": (cfg.get("v_head_dim") if cfg.get("kv_lora_rank") else None) or get("head_dim"),
        "vocab_size": get("vocab_size") or config.get("vocab_size"),
    }
    tied = cfg.get("tie_word_embeddings", config.get("tie_word_embeddings"))
    if tied is not None:
        arch["tied_embeddings"] = bool(tied)
    if arch["kv_heads"] is None and arch["attention_heads"] is not None:
        arch["kv_heads"] = 1 if cfg.get("multi_query") else arch["attention_heads"]
    head_dim = arch["head_dim"]
    if (
        head_dim
        and arch["hidden_size"]
        and arch["attention_heads"]
        and head_dim * arch["attention_heads"] == arch["hidden_size"]
    ):
        arch["head_dim"] = None  # implied; keep the entry short

    moe = _moe(cfg, get, counts)
    if _has_dense_ffn(cfg, moe, counts):
        if moe is not None:
            dense = get("intermediate_size_mlp") or (get("intermediate_size") if get("moe_intermediate_size") else None)
        else:
            dense = get("intermediate_size", "ffn_hidden_size", "n_inner")
        arch["intermediate_size"] = dense
    attention = _attention(cfg, get, head_dim)
    if attention.get("kind") == "mla" and not attention.get("qk_rope_head_dim"):
        attention.pop("qk_rope_head_dim")
    arch["attention"] = attention
    linear = _linear_attention(cfg, get, arch, counts)
    if linear is not None:
        arch["linear_attention"] = linear
    if moe is not None:
        arch["moe"] = moe
    order = (
        "layers",
        "hidden_size",
        "attention_heads",
        "kv_heads",
        "head_dim",
        "intermediate_size",
        "vocab_size",
        "tied_embeddings",
        "attention",
        "linear_attention",
        "attention_layers",
        "moe",
    )
    return {k: arch[k] for k in order if arch.get(k) is not None}


def formats_from_config(config: dict) -> list[str]:
    """The checkpoint's weight format from quantization_config (fp8, mxfp4, nvfp4, ...); [] when it is not quantized."""
    qc = config.get("quantization_config") or (config.get("text_config") or {}).get("quantization_config")
    if not isinstance(qc, dict):
        return []
    method = str(qc.get("quant_method", "")).lower()
    if method == "modelopt":
        fmt = _MODELOPT_ALGOS.get(str(qc.get("quant_algo", "")).upper())
    elif method == "compressed-tensors":
        fmt = _COMPRESSED_FORMATS.get(str(qc.get("format", "")).lower())
    else:
        fmt = _QUANT_METHODS.get(method)
    return [fmt] if fmt else []


def modalities_from_config(config: dict) -> list[str] | None:
    """Input modalities a multimodal config declares (vision_config -> image, audio_config -> audio); None for
    text-only."""
    extra = [m for key, m in (("vision_config", "image"), ("audio_config", "audio")) if config.get(key)]
    return ["text", *extra] if extra else None


def facts_from_config(config: dict) -> dict[str, Any]:
    """Every catalog fact config.json states: architecture, max_position_embeddings, formats, modalities."""
    cfg = config.get("text_config") or config
    facts: dict[str, Any] = {"architecture": architecture_from_config(config)}
    ctx = cfg.get("max_position_embeddings") or config.get("max_position_embeddings")
    if ctx:
        facts["max_position_embeddings"] = ctx
    formats = formats_from_config(config)
    if formats:
        facts["formats"] = formats
    modalities = modalities_from_config(config)
    if modalities:
        facts["modalities"] = modalities
    return facts
