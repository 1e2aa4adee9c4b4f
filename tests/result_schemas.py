"""What each tool's result must hold (JSON Schema): the fields every edge and the agent read, with their types and
ranges. The fuzz tests (Python and HTTP) check every result against these; a new tool needs a schema here
(tests/test_api_schemathesis.py::test_every_tool_has_a_result_schema)."""

from __future__ import annotations

NUM = {"type": "number"}
GB = {"type": "number", "minimum": 0}
INT0 = {"type": "integer", "minimum": 0}
TEXT = {"type": "string", "minLength": 1}
TEXTS = {"type": "array", "items": {"type": "string"}}
URLS = {"type": "array", "items": {"type": "string", "pattern": "^https?://"}}
REF = {"type": "object", "required": ["id", "name"], "properties": {"id": TEXT, "name": TEXT}}
VERDICT = {"enum": ["allowed", "allowed_with_conditions", "unknown", "not_allowed"]}


def obj(required: dict, **optional) -> dict:
    return {"type": "object", "required": sorted(required), "properties": {**required, **optional}}


def listing(key: str, item: dict) -> dict:
    return obj({key: {"type": "array", "items": item}, "count": INT0})


RESULT_SCHEMAS: dict[str, dict] = {
    "get_model": obj(
        {
            "id": TEXT,
            "name": TEXT,
            "family": TEXT,
            "params_b": {"type": "number", "exclusiveMinimum": 0},
            "context_length": {"type": "integer", "minimum": 1},
            "license": obj({"id": TEXT}),
            "sources": URLS,
        }
    ),
    "find_models": obj(
        {"count": INT0, "models": {"type": "array", "items": obj({"id": TEXT})}, "truncated": {"type": "boolean"}}
    ),
    "select_models": obj(
        {
            "use_case": TEXT,
            "considered": INT0,
            "excluded_count": INT0,
            "assumptions": TEXTS,
            "sources": URLS,
            "recommendations": {
                "type": "array",
                "maxItems": 20,
                "items": obj(
                    {
                        "model": TEXT,
                        "score": NUM,
                        "quantization": TEXT,
                        "memory_gb": GB,
                        "license_verdict": VERDICT,
                        "reasons": TEXTS,
                    }
                ),
            },
            "excluded": {"type": "array", "items": obj({"model": TEXT, "reason": TEXT})},
        }
    ),
    "check_license": obj(
        {
            "model": REF,
            "verdict": VERDICT,
            "summary": TEXT,
            "license": obj({"id": TEXT, "url": TEXT}),
            "conditions": TEXTS,
            "reasons": TEXTS,
            "assumptions": TEXTS,
            "sources": URLS,
            "citations": {"type": "array", "items": obj({"term": TEXT, "clause": TEXT, "url": TEXT})},
        }
    ),
    "estimate_memory": obj(
        {
            "model": REF,
            "quantization": obj({"id": TEXT, "bits_per_weight": NUM}),
            "engine": TEXT,
            "context_length": {"type": "integer", "minimum": 1},
            "batch_size": {"type": "integer", "minimum": 1},
            "num_gpus": {"type": "integer", "minimum": 1},
            "weights_gb": GB,
            "kv_cache_gb": {"type": ["number", "null"]},
            "activations_gb": GB,
            "overhead_gb": GB,
            "total_gb": GB,
            "assumptions": TEXTS,
            "sources": URLS,
            "breakdown": {"type": "array", "items": obj({"part": TEXT, "gb": GB})},
        },
        fits={"type": "boolean"},
        headroom_gb=NUM,
        max_context_that_fits=INT0,
        per_gpu_gb=GB,
    ),
    "estimate_throughput": obj(
        {
            "model": REF,
            "gpu": obj({"id": TEXT, "count": {"type": "integer", "minimum": 1}}),
            "quantization": TEXT,
            "engine": TEXT,
            "decode_tokens_per_s": GB,
            "decode_tokens_per_s_range": {
                "anyOf": [
                    {"type": "null"},
                    obj(
                        {
                            "low": GB,
                            "high": GB,
                            "coverage": {"type": "number", "minimum": 0, "maximum": 1},
                            "basis": TEXT,
                        }
                    ),
                ]
            },
            "aggregate_tokens_per_s": GB,
            "per_stream_tokens_per_s": GB,
            "roofline_tokens_per_s": GB,
            "max_concurrent_sequences": INT0,
            "effective_concurrency": INT0,
            "prefill_tokens_per_s": {"type": ["number", "null"], "minimum": 0},
            "basis": TEXTS,
            "calibration": obj({"text": TEXT}),
            "sources": URLS,
        }
    ),
    "estimate_cost": obj(
        {
            "monthly_tokens": {"type": "integer", "minimum": 1},
            "input_share": {"type": "number", "minimum": 0, "maximum": 1},
            "cheapest": TEXT,
            "assumptions": TEXTS,
            "sources": URLS,
            "missing": {"type": "array"},
            "options": {
                "type": "array",
                "minItems": 1,
                "items": obj(
                    {
                        "name": TEXT,
                        "kind": {"enum": ["api", "cloud_gpu", "on_prem"]},
                        "monthly_usd": GB,
                        "usd_per_mtok": GB,
                    }
                ),
            },
            "break_even": {
                "type": "array",
                "items": obj(
                    {
                        "self_hosted": TEXT,
                        "api": TEXT,
                        "note": TEXT,
                        "monthly_tokens": {"type": ["integer", "null"], "minimum": 0},
                    }
                ),
            },
            "table": {"type": "array", "items": obj({"monthly_tokens": INT0, "costs": {"type": "array"}})},
            "curve": obj({"monthly_tokens": {"type": "array"}, "series": {"type": "array"}}),
        }
    ),
    "compare_benchmarks": obj(
        {
            "benchmarks": {"type": "array"},
            "table": {"type": "array"},
            "changes": {"type": "array"},
            "missing": {"type": "array"},
            "sources": URLS,
        }
    ),
    "plan_deployment": obj(
        {
            "model": REF,
            "context_length": {"type": "integer", "minimum": 1},
            "concurrency": {"type": "integer", "minimum": 1},
            "recommended": {"type": ["object", "null"]},
            "alternatives": {"type": "array"},
            "reasons": TEXTS,
            "assumptions": TEXTS,
            "sources": URLS,
        }
    ),
    "list_gpus": listing(
        "gpus", obj({"id": TEXT, "name": TEXT, "memory_gb": {"type": ["number", "null"], "minimum": 0}})
    ),
    "list_licenses": listing("licenses", obj({"id": TEXT, "name": TEXT, "url": TEXT})),
}


def check_result(name: str, result: dict) -> None:
    """Raise AssertionError naming the first place where a tool's result breaks its schema."""
    import jsonschema

    errors = sorted(
        jsonschema.Draft202012Validator(RESULT_SCHEMAS[name]).iter_errors(result), key=lambda e: list(e.path)
    )
    assert not errors, f"{name} result: {'/'.join(map(str, errors[0].path)) or '(top)'}: {errors[0].message}"
