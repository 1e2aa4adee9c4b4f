"""The understanding pipeline: quantities, catalog names, intents, slots, dialogue state, and the offline answers."""

from __future__ import annotations

import json

import pytest

from advisor.nlu import prepare, quantities, read
from advisor.nlu.arguments import ARGUMENTS, arguments
from advisor.requirements import extract, merge


def figures(text: str) -> list[tuple[str, float]]:
    return [(q.kind, q.value) for q in quantities(prepare(text)) if q.kind != "count"]


# ---------------------------------------------------------------- quantities


@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("800 million monthly users", "users", 800_000_000),
        ("eight hundred million users", "users", 800_000_000),
        ("1.2B MAU", "users", 1_200_000_000),
        ("3 mln users", "users", 3_000_000),
        ("half a billion tokens per month", "tokens_month", 500_000_000),
        ("50M tokens/month", "tokens_month", 50_000_000),
        ("2 million tokens a day", "tokens_month", 60_000_000),
        ("32k context", "context", 32_768),
        ("context window of 128k", "context", 131_072),
        ("a 48GB card", "memory_gb", 48),
        ("a 24 gig card", "memory_gb", 24),
        ("twenty-four gigs of vram", "memory_gb", 24),
        ("$2/hour", "usd_per_hour", 2),
        ("0.8 dollars an hour", "usd_per_hour", 0.8),
        ("€0.30/kWh", "usd_per_kwh", 0.3),
        ("budget of $500 a month", "usd_month", 500),
        ("60% utilization", "percent", 0.6),
        ("3:1 input to output", "ratio", 0.75),
        ("top 3", "top_k", 3),
        ("under 10B parameters", "params_b", 10),
        ("100 concurrent users", "concurrency", 100),
        ("amortize over 3 years", "months", 36),
        ("batch of 8", "batch", 8),
        ("40 tok/s", "tokens_per_s", 40),
    ],
)
def test_quantities(text, kind, value):
    assert (kind, pytest.approx(value)) in [(k, v) for k, v in figures(text)]


def test_ranges_keep_the_upper_end_and_approximations_are_marked():
    q = [q for q in quantities(prepare("between 1 and 2 million users")) if q.kind == "users"][0]
    assert (q.lo, q.hi, q.value) == (1_000_000, 2_000_000, 2_000_000)
    q = [q for q in quantities(prepare("about 5-10M tokens a month")) if q.kind == "tokens_month"][0]
    assert q.approx and q.value == 10_000_000
    assert [q.bound for q in quantities(prepare("over 700M users"))] == ["min"]


def test_words_that_are_not_figures_stay_words():
    assert prepare("which one is better, the second one?") == "which one is better, the second one?"
    assert prepare("two 4090s and a million users") == "2 4090s and 1000000 users"


# ---------------------------------------------------------------- entity linking


def test_names_resolve_with_versions_sizes_and_typos():
    assert read("Can I use Llama 3 8B?").models == ["llama-3-8b"]
    assert read("lamma 3.1 70b commercial?").models == ["llama-3.1-70b"]
    assert read("deploy gptoss 20b").models == ["gpt-oss-20b"]
    assert read("Qwen2.5 32B at 32k").models == ["qwen2.5-32b"]  # not the Coder
    gpu = [m for m in read("two 4090s").mentions if m.kind == "gpu"][0]
    assert (gpu.id, gpu.count) == ("rtx-4090", 2)
    assert read("2x L40S").fields["num_gpus"] == 2 and read("H100 x 8").fields["num_gpus"] == 8


def test_a_near_miss_is_never_a_match():
    r = read("Is Gemma 5 allowed commercially?")
    assert r.models == [] and r.unclear and r.unclear[0].status == "unknown"
    assert "gemma-3-4b" not in read("gemma 5 4b").models
    ambiguous = read("memory of llama 70b").unclear[0]
    assert ambiguous.status == "ambiguous" and "llama-3.1-70b" in ambiguous.candidates


def test_linking_follows_the_catalog_in_use():
    from catalog.query import get_catalog
    from tools.common import catalog

    cat = catalog()
    assert all(m in cat.models for m in read("compare qwen3 8b and llama 3.1 8b").models)
    assert get_catalog() is not None


# ---------------------------------------------------------------- slots


def test_licence_facts_are_read():
    f = read("We want to distill DeepSeek R1 into our own 7B model, is that allowed?").fields
    assert f["use_outputs_to_train_other_models"] is True and "modify" not in f
    assert read("can we offer qwen3 32b as a hosted API to other companies").fields["hosted_service"] is True
    assert read("internal tool only, we will not offer it as a service").fields["hosted_service"] is False
    assert read("we'd ship falcon 40b weights bundled in our product").fields["redistribute"] is True
    assert read("we're a german startup").fields == {"eu_entity": True, "commercial": True, "territories": ["DE"]}
    f = read("UK-based, annual revenue $12M, users in Korea too").fields
    assert f["monthly_revenue_usd"] == 1_000_000 and set(f["territories"]) == {"GB", "KR"} and f["eu_entity"] is False


def test_engine_format_kv_cache_and_benchmarks_are_read():
    f = read("qwen3 32b with vllm in awq, fp8 kv cache").fields
    assert (f["engine"], f["quantization"], f["kv_cache_dtype"]) == ("vllm", "awq", "fp8")
    assert read("llama 3.1 8b in 4-bit gguf").fields["quantization"] == "q4_k_m"
    assert read("compare on MMLU and HumanEval only").fields["benchmarks"] == ["MMLU", "HumanEval"]
    assert "MATH" not in read("a math tutor").fields.get("benchmarks", [])


def test_corrections_negations_and_clearing():
    state = merge({}, extract("support bot, commercial, budget $500 a month, one L4"))
    assert state["budget_usd_per_month"] == 500 and state["commercial"] is True
    state = merge(state, extract("actually it's not commercial"))
    assert state["commercial"] is False
    state = merge(state, extract("forget the budget"))
    assert "budget_usd_per_month" not in state and state["gpu"] == "l4"
    state = merge(state, extract("no GPU, cpu only"))
    assert "gpu" not in state and state["hardware"] == "none"


def test_a_bare_figure_takes_its_meaning_from_the_previous_turn():
    cost = {"requirements": {"monthly_tokens": 10_000_000}, "previous_tools": ["estimate_cost"], "previous_args": []}
    assert extract("and at 100M?", cost)["monthly_tokens"] == 100_000_000
    licence = {"requirements": {}, "previous_tools": ["check_license"], "previous_args": []}
    assert extract("and with 2 billion?", licence)["monthly_active_users"] == 2_000_000_000
    gpus = {"requirements": {"gpu": "rtx-4090"}, "previous_tools": ["select_models"], "previous_args": []}
    assert extract("actually two", gpus)["num_gpus"] == 2


def test_contradictions_are_reported():
    assert read("commercial non-commercial research app with llama 3 8b").conflicts


# ---------------------------------------------------------------- intents and arguments


def test_intents_are_multi_label():
    assert set(read("Can I use Llama 3.1 70B commercially and how much VRAM does it need?").asked()) == {
        "license",
        "memory",
    }
    assert read("hi").asked() == ["help"]


def test_arguments_follow_the_tool_schemas():
    state = {"gpu": "rtx-4090", "num_gpus": 2, "min_context": 32768, "engine": "not-an-engine", "commercial": True}
    args = arguments("estimate_memory", state, model="llama-3.1-8b")
    assert args == {"gpu": "rtx-4090", "num_gpus": 2, "context_length": 32768, "model": "llama-3.1-8b"}
    assert arguments("select_models", state)["min_context"] == 32768
    import tools

    for field, names in ARGUMENTS.items():  # every mapped argument is a real argument of some tool
        assert any(
            arg in tools.get(t).parameters_schema()["properties"]
            for t in tools.names()
            for arg in [names.get(t, names.get("*"))]
            if arg
        ), field


def test_intent_model_is_current_and_reproducible():
    pytest.importorskip("sklearn")
    from advisor.nlu import intents

    committed = json.loads(intents.MODEL.read_text())
    assert committed["data_sha256"] == intents.data_hash(), (
        "the labelled data changed: run python -m advisor.nlu.intents"
    )
    pairs = intents.examples()
    assert intents.train(pairs) == intents.train(pairs)  # deterministic
    # the committed model still fits its data (names it masks come from the catalog, which grows)
    model = intents.IntentModel(committed)
    right = sum(
        set(lab for lab, p in model.scores(read(text).shape).items() if p >= intents.THRESHOLD) == set(want)
        for text, want in pairs
    )
    assert right / len(pairs) >= 0.95


# ---------------------------------------------------------------- the offline driver


def test_licence_verdict_keeps_the_user_count(make_advisor):
    r = make_advisor().ask("Can I use Llama 3 8B in an app with 800 million monthly users?", thread_id="t")
    call = r.tool_calls[0]
    assert call.name == "check_license" and call.args["monthly_active_users"] == 800_000_000
    assert call.result["verdict"] == "not_allowed"  # above 700M monthly users the licence needs Meta's permission
    assert r.reply.startswith("Understood:") and "800,000,000" in r.reply.splitlines()[0]


def test_a_worked_out_volume_is_said_once(make_advisor):
    """2M requests a month x 500 tokens = 1,000,000,000: the Understood line shows the working, not also the bare
    figure before it (it read 'Tokens a month: 1,000,000,000; tokens a month: 2,000,000 requests ...')."""
    r = make_advisor().ask("About 2 million requests a month at 500 tokens each, one L40S. What would it cost?", "w")
    first = r.reply.splitlines()[0]
    assert "2,000,000 requests a month x 500 tokens each = 1,000,000,000" in first, first
    assert first.count("1,000,000,000") == 1 and first.lower().count("tokens a month:") == 1, first


def test_the_understood_line_names_only_models_the_user_named(make_advisor):
    """The shortlist's top pick, priced by a cost call, is an answer: "Understood: <that model>" read as if the user
    had asked about it. A model the user names stays in the line."""
    r = make_advisor().ask("Customer-service chatbot, commercial, 10M tokens a month, one RTX 4090", thread_id="u1")
    picked = [c.args["model"] for c in r.tool_calls if c.name == "estimate_cost"]
    assert picked, [c.name for c in r.tool_calls]  # the top pick was priced
    from tools.common import catalog

    first = r.reply.splitlines()[0]
    assert first.startswith("Understood:") and "RTX 4090" in first
    assert catalog().models[picked[0]].name not in first
    named = make_advisor().ask("What would 10M tokens a month cost with Llama 3.1 8B on an L4?", thread_id="u2")
    assert "Llama 3.1 8B" in named.reply.splitlines()[0]


def test_a_licence_follow_up_checks_the_models_in_focus(make_advisor):
    """'and the licence?' after a shortlist asks about the shortlist's licence, with the user's facts, not for the
    list of every licence; 'which licences ...' still lists them."""
    advisor = make_advisor()
    first = advisor.ask("We have one RTX 4090 and need a commercially usable coding model", thread_id="lic")
    top = next(c.result["recommendations"][0]["model"] for c in first.tool_calls if c.name == "select_models")
    follow = advisor.ask("and the licence?", thread_id="lic")
    assert [(c.name, c.args["model"], c.args.get("commercial")) for c in follow.tool_calls] == [
        ("check_license", top, True)
    ]
    listing = advisor.ask("which licences allow commercial use?", thread_id="lic")
    assert [c.name for c in listing.tool_calls] == ["list_licenses"]


def test_unknown_or_ambiguous_names_get_a_question(make_advisor):
    advisor = make_advisor()
    r = advisor.ask("Can I use Gemma 5 commercially?", thread_id="a")
    assert not r.tool_calls and "not in the catalog" in r.reply and "?" in r.reply
    r = advisor.ask("how much memory does qwen 32b need", thread_id="b")
    assert not r.tool_calls and "Which model do you mean" in r.reply


def test_follow_ups_references_and_kept_constraints(make_advisor):
    advisor = make_advisor()
    first = advisor.ask("What would 10M tokens a month cost with llama 3.1 8b?", thread_id="c")
    assert first.tool_calls[0].args["monthly_tokens"] == 10_000_000
    again = advisor.ask("and at half a billion?", thread_id="c")
    assert again.tool_calls[0].name == "estimate_cost" and again.tool_calls[0].args["monthly_tokens"] == 500_000_000
    plan = advisor.ask("plan a deployment of qwen3 32b with vllm in awq on two L40S", thread_id="d")
    assert plan.tool_calls[0].args.get("quantization") == "awq"
    speed = advisor.ask("how fast will that be with 16 concurrent users", thread_id="d")
    args = speed.tool_calls[0].args
    assert (args["model"], args["engine"], args["quantization"], args["num_gpus"], args["concurrency"]) == (
        "qwen3-32b",
        "vllm",
        "awq",
        2,
        16,
    )
    shortlist = advisor.ask("Recommend models for RAG on an A100 80GB, commercial, go ahead", thread_id="e").shortlist
    second = advisor.ask("is the second one ok with 2M users?", thread_id="e")
    assert second.tool_calls[0].args["model"] == shortlist[1]["model"]
    assert second.tool_calls[0].args["monthly_active_users"] == 2_000_000


# ---------------------------------------------------------------- figures worked out, units, corrections (issue #24)


def test_volumes_are_worked_out_from_their_parts():
    f = read("40k daily users, each sends about 25 messages a day, ~600 tokens per message").fields
    assert f["monthly_tokens"] == 40_000 * 25 * 600 * 30
    assert "40,000 users x 25 messages a day x 600 tokens each x 30 days = 18,000,000,000" in f["derived"][0]
    f = read("about 1,200 requests an hour around the clock, 2k tokens per request").fields
    assert f["monthly_tokens"] == 1200 * 2000 * 24 * 30 and "667 tokens/s" in f["derived"][0]
    f = read("90 req/min, 1500 tokens each").fields
    assert f["monthly_tokens"] == 90 * 60 * 24 * 30 * 1500
    f = read("we pay openai $9k a month for 1.5 billion tokens").fields
    assert f["api_usd_per_mtok_input"] == f["api_usd_per_mtok_output"] == 6.0 and "budget_usd_per_month" not in f
    assert read("buy 4x RTX 6000 Ada for about 28k all in").fields["hardware_usd"] == 28_000
    assert read("buy 2 H100s outright for ~$60k").fields["hardware_usd"] == 60_000
    half = read(
        "and if its only half the users?",
        {"requirements": {**f, **read("40k users, 25 messages a day, 600 tokens per message").fields}},
    )
    assert half.fields["monthly_tokens"] == 20_000 * 25 * 600 * 30
    assert (
        read("what if the volume doubles", {"requirements": {"monthly_tokens": 10**9}}).fields["monthly_tokens"]
        == 2 * 10**9
    )


def test_units_decide_what_a_number_is():
    f = read("got a card with 16 gigs. will phi 4 fit at 8 bit?").fields
    assert f["vram_gb"] == 16 and f["quantization"] == "int8" and "num_gpus" not in f  # 8 bit is a format
    f = read("two 48gb cards, qwen3 32b in bf16")
    assert (f.fields["num_gpus"], f.fields["vram_gb"]) == (2, 48)
    assert read("3 x 24GB GPUs at 4bit").fields["num_gpus"] == 3
    assert "num_gpus" not in read("would 4 bit make it faster?", {"requirements": {"gpu": "l40s"}}).fields


def test_a_figure_taken_back_is_no_fact():
    cost = {"requirements": {"monthly_tokens": 500_000_000}, "previous_tools": ["estimate_cost"], "previous_args": []}
    assert extract("oops I meant 50M, not 500M", cost)["monthly_tokens"] == 50_000_000
    assert "num_gpus" not in extract("written off over 2 years instead of 3?", {"requirements": {"gpu": "l40s"}})


def test_a_corrected_device_keeps_its_count():
    state = merge({}, extract("we have 4 A6000s"))
    state = merge(state, extract("sorry, they're L40S not A6000"))
    assert (state["gpu"], state["num_gpus"]) == ("l40s", 4)
    state = merge(state, extract("what if we upgrade to an H100"))
    assert state["gpu"] == "h100-sxm" and "num_gpus" not in state  # "an H100": one


def test_licence_facts_said_indirectly():
    assert read("a discord bot i charge money for").fields["commercial"] is True
    assert read("for our university research group").fields["commercial"] is False
    assert read("later we might spin out a company").fields["commercial"] is True
    f = read("we're a small fintech out of Lisbon").fields
    assert (f["eu_entity"], f["territories"], f["commercial"]) == (True, ["PT"], True)
    for text, code in [("a Rotterdam-based shop", "NL"), ("our office is in Tallinn", "EE"), ("HQ in Krakow", "PL")]:
        f = read(text).fields
        assert f.get("eu_entity") is True and f["territories"] == [code], text


# ---------------------------------------------------------------- hardware described by its parts


def test_a_cpu_server_is_read_by_its_parts():
    """Cores, RAM, channels and memory type: the RAM is what a model must fit in, channels x MT/s x 8 bytes the
    bandwidth (one socket's), and a channel count is never a GPU count."""
    r = extract("no GPU, a 32-core EPYC with 256 GB RAM")
    assert (r["device_class"], r["vram_gb"], r["cpu_cores"], r["hardware"]) == ("cpu", 256, 32, "cpu")
    assert not r.get("gpu") and "memory_bandwidth_gbps" not in r
    r = extract("dual-socket EPYC 9654 server, 12-channel DDR5-4800, 768 GB RAM, no GPU")
    assert (r["vram_gb"], r["memory_bandwidth_gbps"]) == (768, 460.8)
    assert any("12 channels x 4800 MT/s" in d and "one socket's" in d for d in r["derived"])
    # a family named without its generation is its parts, not one catalog server
    r = extract("a 64-core Xeon with 512GB of RAM")
    assert "gpu" not in r and r["vram_gb"] == 512 and r["cpu_cores"] == 64
    # a later message adds a part; "8 channels" is no count of GPUs
    ctx = {"requirements": r, "previous_tools": ["select_models"], "previous_args": [{"vram_gb": 512}]}
    later = extract("with 8 channels of DDR4?", ctx)
    assert later["memory_bandwidth_gbps"] == 204.8 and "num_gpus" not in later
    on_gpu = {"requirements": {"gpu": "rtx-4090"}, "previous_tools": [], "previous_args": []}
    assert "num_gpus" not in extract("and with 8 channels?", on_gpu)
    assert extract("and with 8?", on_gpu)["num_gpus"] == 8


def test_a_chip_with_a_memory_the_catalog_lacks_keeps_its_bandwidth():
    from tools.common import catalog

    r = extract("an M2 Max 48GB")
    assert (r["vram_gb"], r["unified_memory"], r["device_class"]) == (48, True, "apple")
    assert (
        r["memory_bandwidth_gbps"]
        == next(g for g in catalog().gpus.values() if g.id.startswith("m2-max")).memory_bandwidth_gbps
    )
    assert "gpu" not in r and any("M2 Max with 48 GB" in d for d in r["derived"])
    assert extract("a jetson orin 32gb")["gpu"] == "jetson-agx-orin-32gb"  # a variant by its memory


def test_a_cpu_server_shortlists_what_its_ram_holds(make_advisor):
    r = make_advisor().ask("no GPU, a 32-core EPYC with 256 GB RAM, which model for a support chatbot?", "cpu")
    call = next(c for c in r.tool_calls if c.name == "select_models")
    assert call.args.get("vram_gb") == 256 and "gpu" not in call.args
    assert all(x["memory_gb"] <= 256 for x in call.result["recommendations"])
    assert "System RAM (GB): 256" in r.reply and "GPU memory" not in r.reply.split("\n")[0]


def test_a_device_family_with_variants_asks_which(make_advisor):
    advisor = make_advisor()
    r = advisor.ask("how fast is llama 3.1 8b on a jetson orin?", thread_id="j")
    assert not r.tool_calls and "Jetson AGX Orin 32GB" in r.reply and "Jetson AGX Orin 64GB" in r.reply
    r = advisor.ask("the 64GB one", thread_id="j")
    assert [(c.name, c.args.get("gpu")) for c in r.tool_calls] == [("estimate_throughput", "jetson-agx-orin-64gb")]


def test_speed_on_a_device_without_its_bandwidth_asks_for_it(make_advisor):
    advisor = make_advisor()
    advisor.ask("no gpu, 32 cores, 128 GB RAM. best coding model?", thread_id="b")
    r = advisor.ask("how fast is the first one?", thread_id="b")
    assert not r.tool_calls and "channels" in r.reply
    r = advisor.ask("8 channels of ddr4", thread_id="b")
    call = next(c for c in r.tool_calls if c.name == "estimate_throughput")
    assert (call.args["vram_gb"], call.args["memory_bandwidth_gbps"]) == (128, 204.8)
    assert "8 channels x 3200 MT/s" in r.reply


def test_a_cpu_family_without_its_channels_gets_a_stated_bandwidth(make_advisor):
    """ "a dual Xeon box" with no channels: the catalog's slowest single-socket Xeon server's bandwidth, said so."""
    advisor = make_advisor()
    advisor.ask("no gpus, just a dual xeon box, 48 cores and 384 GB ram. what can we run for Q&A over our docs?", "x")
    r = advisor.ask("how fast would the top pick be on that box?", thread_id="x")
    call = next(c for c in r.tool_calls if c.name == "estimate_throughput")
    assert call.args["vram_gb"] == 384 and call.args["device_class"] == "cpu"
    assert f"assumed {call.args['memory_bandwidth_gbps']:g} GB/s, that of the Intel Xeon" in r.reply
    assert extract("best model for writing help on my mac mini (m4 pro, 24 gigs)?")["use_case"] == "general"


def test_a_unified_memory_chip_named_without_its_memory_asks_which(make_advisor):
    """The memory of a Mac, a Ryzen AI Max or a Jetson is chosen at purchase and decides what fits: named without it,
    the advisor asks, listing the sizes the catalog has; a data-centre card keeps its usual reading."""
    advisor = make_advisor()
    r = advisor.ask("ryzen ai max 395 mini pc - whats the biggest coding model i can run on it", thread_id="r")
    assert not r.tool_calls and "64GB" in r.reply and "128GB" in r.reply
    r = advisor.ask("128 gig version", thread_id="r")
    assert [(c.name, c.args.get("gpu")) for c in r.tool_calls] == [("select_models", "ryzen-ai-max-plus-395-128gb")]
    assert extract("how fast is llama 3.1 8b on 4x a100?")["gpu"].startswith("a100")


def test_two_values_asked_together_get_a_call_each(make_advisor):
    """ "fp8 vs int4", "coding and math": one call for each, both said in the Understood line."""
    advisor = make_advisor()
    r = advisor.ask("llama 3.1 70b on 2 H100s: tokens/sec at fp8 vs int4?", thread_id="q")
    assert [c.args["quantization"] for c in r.tool_calls if c.name == "estimate_throughput"] == ["fp8", "int4"]
    assert "Weight format: fp8 and int4" in r.reply
    r = advisor.ask("best model for coding and math on a single 4090?", thread_id="u")
    assert [c.args["use_case"] for c in r.tool_calls if c.name == "select_models"] == ["code", "math"]
    assert "Shortlist for code" in r.reply and "Shortlist for math" in r.reply
    assert "both" not in extract("coding help on one 4090, and a chatbot later")  # one use case, one call


def test_people_at_the_same_time_are_a_concurrency():
    assert extract("plan a deployment of qwen3 coder 30b a3b for 20 devs hitting it at once")["concurrency"] == 20
    assert extract("50 people using it at the same time") == {"concurrency": 50}
    assert extract("8 GPUs in parallel") == {"num_gpus": 8}  # devices at once stay devices


def test_a_model_named_by_what_tells_it_from_the_one_in_focus(make_advisor):
    """Follow-ups name a sibling of the model in focus by its difference alone: a version ("what about 5.1?" after
    GLM-4.6), a size ("the 235b one" after Qwen3 30B-A3B), a variant word ("the reasoning one" after Phi-4-mini), a
    date ("the r1 0528"). Each resolves within the focus model's lineage and the earlier question is asked of it; a
    use case ("and for math?") and a figure ("40M tokens a month") are not names."""
    advisor = make_advisor()
    advisor.ask("is glm 4.6 ok for a paid app?", thread_id="glm")
    r = advisor.ask("what about 5.1?", thread_id="glm")
    assert [(c.name, c.args["model"], c.args.get("commercial")) for c in r.tool_calls] == [
        ("check_license", "glm-5.1", True)
    ]
    advisor.ask("memory for qwen3 30b a3b at fp8", thread_id="qw")
    r = advisor.ask("and the 235b one", thread_id="qw")
    assert [(c.name, c.args["model"], c.args["quantization"]) for c in r.tool_calls] == [
        ("estimate_memory", "qwen3-235b-a22b", "fp8")
    ]
    advisor.ask("tell me about phi 4 mini", thread_id="phi")
    r = advisor.ask("and the reasoning one?", thread_id="phi")
    assert [(c.name, c.args["model"]) for c in r.tool_calls] == [("get_model", "phi-4-mini-reasoning")]
    advisor.ask("memory for mistral large 2", thread_id="ml")
    r = advisor.ask("ok and the cost for 40M tokens a month?", thread_id="ml")
    assert [(c.name, c.args["model"]) for c in r.tool_calls] == [("estimate_cost", "mistral-large-2")]
    advisor.ask("licence of qwen3 32b for our product", thread_id="math")
    r = advisor.ask("and for math?", thread_id="math")
    assert all(c.args.get("model") != "qwen2.5-math-7b" for c in r.tool_calls)


def test_additions_and_references_to_a_comparison(make_advisor):
    """ "put the 70b llama in too", "also bring in qwen3 14b" join the comparison in focus; "that one" is then the
    model just added;
    "compare those two" with no shortlist compares the two models discussed last."""
    advisor = make_advisor()
    advisor.ask("compare llama 3.1 8b and gemma 3 12b", thread_id="c")
    r = advisor.ask("put the 70b llama in too", thread_id="c")
    assert [(c.name, c.args["models"]) for c in r.tool_calls] == [
        ("compare_benchmarks", ["llama-3.1-8b", "gemma-3-12b", "llama-3.1-70b"])
    ]
    r = advisor.ask("also bring in qwen3 14b", thread_id="c")
    assert [c.name for c in r.tool_calls] == ["compare_benchmarks"] and "qwen3-14b" in r.tool_calls[0].args["models"]
    r = advisor.ask("and that one's licence?", thread_id="c")
    assert [(c.name, c.args["model"]) for c in r.tool_calls] == [("check_license", "qwen3-14b")]
    advisor.ask("licence of glm 4.6 for a paid app", thread_id="two")
    advisor.ask("and 4.7?", thread_id="two")
    r = advisor.ask("ok compare those two on benchmarks", thread_id="two")
    assert [(c.name, sorted(c.args["models"])) for c in r.tool_calls] == [
        ("compare_benchmarks", ["glm-4.6", "glm-4.7"])
    ]


def test_a_business_of_ours_is_commercial_use():
    """A business the user works at or runs is commercial use, whatever its trade; saying what one is ("we're a
    law firm") is left as it was."""
    assert extract("is qwen3 8b ok for a chatbot at our accounting firm?")["commercial"] is True
    assert extract("we run a little pottery shop in Porto and want mistral small")["commercial"] is True
    assert extract("thesis work in our research group at a university")["commercial"] is False


def test_usage_parts_folds_and_shares_of_them():
    """ "each per day" between the items and the period is still a rate: 900 nurses x 12 questions a day x 2,000
    tokens x 30 days = 648,000,000 tokens a month; "half of them" halves the people; "tenfold" multiplies."""
    fields = extract("900 nurses, about 12 questions each per day, 2k tokens a question. monthly cost?")
    assert fields["monthly_tokens"] == 648_000_000
    usage = fields["usage"]
    assert extract("and if only half of them use it?", {"requirements": {"usage": usage}})["monthly_tokens"] == (
        324_000_000
    )
    before = {"requirements": {"monthly_tokens": 30_000_000}, "previous_tools": ["estimate_cost"]}
    assert extract("what if traffic grows tenfold?", before)["monthly_tokens"] == 300_000_000


def test_a_purchase_price_is_not_a_volume_and_keeps_the_card_count(make_advisor):
    """ "or we buy a box with 4 A100s for about 60k" after a cost answer: the same model and volume costed on 4
    owned A100s bought for $60,000; 60k is neither a volume nor a context length, and "a box" is not one card."""
    advisor = make_advisor()
    advisor.ask("monthly cost of qwen3 32b at 90M tokens?", thread_id="buy")
    r = advisor.ask("alternatively we buy a box with 4 A100 80GB cards for about 60k", thread_id="buy")
    [call] = r.tool_calls
    assert call.name == "estimate_cost"
    assert {k: call.args.get(k) for k in ("model", "monthly_tokens", "gpu", "num_gpus", "hardware_usd")} == {
        "model": "qwen3-32b",
        "monthly_tokens": 90_000_000,
        "gpu": "a100-80gb",
        "num_gpus": 4,
        "hardware_usd": 60_000,
    }
    assert "min_context" not in call.args
    advisor.ask("our anthropic invoice is $9k a month for 600M tokens, can we beat it?", thread_id="say")
    r = advisor.ask("say with qwen3 235b on rented H100s", thread_id="say")
    assert [(c.name, c.args["model"], c.args["gpu"], c.args["api_usd_per_mtok_input"]) for c in r.tool_calls] == [
        ("estimate_cost", "qwen3-235b-a22b", "h100-sxm", 15.0)  # $9,000 / 600 = $15 per 1M tokens
    ]


def test_speed_with_no_format_takes_the_most_bits_that_fit(make_advisor):
    """With no format named, a speed question is answered in the release format if it fits, else in the format with
    the most bits that fits, among the model's release formats and the usual ones: Nemotron 3 Super (released in
    bf16, fp8 and nvfp4) on one RTX PRO 6000 (96 GB) in nvfp4, not AWQ; Llama 3.1 70B on one A100 80GB in int8
    (fp8 needs 78.5 GB against vLLM's 72), not AWQ."""
    advisor = make_advisor()
    r = advisor.ask("decode speed of nvidia nemotron 3 super on a single rtx pro 6000 blackwell?", thread_id="n")
    assert [(c.name, c.args["quantization"]) for c in r.tool_calls] == [("estimate_throughput", "nvfp4")]
    r = advisor.ask("tokens per second for llama 3.1 70b on one a100 80gb?", thread_id="l")
    assert [(c.name, c.args["quantization"]) for c in r.tool_calls] == [("estimate_throughput", "int8")]


def test_a_desktop_without_a_gpu_is_its_ram():
    """ "no gpu, a ryzen 9 pc with 32gb of ddr4": a CPU machine of 32 GB whose bandwidth is a desktop's two channels
    of DDR4-3200, 2 x 3,200 MT/s x 8 bytes = 51.2 GB/s (said so); the 9 of "ryzen 9" is a tier, not 9 GPUs, and
    "ryzen" is not one catalog device."""
    fields = extract("no gpu, a ryzen 9 pc with 32gb of ddr4. will phi 4 run?")
    assert (fields["vram_gb"], fields["device_class"], fields["memory_bandwidth_gbps"]) == (32, "cpu", 51.2)
    assert "num_gpus" not in fields and not fields.get("gpu")
    assert "assumed: a desktop's two channels" in fields["derived"][0]


def test_lower_bounds_after_the_figure_and_memory_units():
    assert extract("which cards have 96gb and up?") == {"vram_gb": 96, "min_memory_gb": 96}
    # "the 36GB one" is a memory (the catalog's M3 Pro 36GB), not a device named "GB 1"
    assert extract("speed of qwen3 8b on my m3 pro macbook, the 36GB one?")["gpu"] == "m3-pro-36gb"


def test_the_best_model_a_device_runs_is_a_general_shortlist(make_advisor):
    r = make_advisor().ask("what is the strongest llm we could run on two RTX 3090s?", thread_id="g")
    assert [(c.name, c.args.get("use_case"), c.args.get("num_gpus")) for c in r.tool_calls] == [
        ("select_models", "general", 2)
    ]


def test_a_family_whose_versions_share_the_fact_answers_for_the_newest(make_advisor):
    """ "magistral small" (1.0, 1.1, 1.2: all 24B, all Apache 2.0) is answered for the newest, the others named;
    "devstral" (Devstral 2 at 123B and the 24B Smalls) asks which, with at least two options."""
    advisor = make_advisor()
    r = advisor.ask("how much vram does magistral small need in q4_k_m?", thread_id="m")
    assert [(c.name, c.args["model"]) for c in r.tool_calls] == [("estimate_memory", "magistral-small-2509")]
    assert "Magistral Small 1.0" in r.reply.splitlines()[0]
    r = advisor.ask("devstral licence for commercial use?", thread_id="d")
    assert not r.tool_calls and "Devstral 2 or Devstral Small" in r.reply


def test_a_small_count_in_a_follow_up_is_not_a_version(make_advisor):
    """ "what about just four of those?" after DeepSeek-V3.2 on 8 GPUs: the same model on 4 GPUs, not DeepSeek-V4
    (whose name holds a 4)."""
    advisor = make_advisor()
    advisor.ask("our box has 8 gpus with 80 gb each, will deepseek v3.2 fit?", thread_id="k")
    r = advisor.ask("what about just four of those?", thread_id="k")
    assert {(c.args["model"], c.args["num_gpus"]) for c in r.tool_calls} == {("deepseek-v3.2", 4)}


def test_which_licences_lists_them_and_a_volume_stands_for_the_hardware(make_advisor):
    """ "which licences let me ..." with no model is the list of licences; "which open model would you self-host for
    that?" after a cost answer (a volume and a use case known) is a shortlist, not a question about the hardware."""
    advisor = make_advisor()
    r = advisor.ask("what licenses allow commercial use with no limit on users?", thread_id="l")
    assert [c.name for c in r.tool_calls] == ["list_licenses"]
    advisor.ask("what would 300M tokens a month cost with qwen3 32b?", thread_id="v")
    r = advisor.ask("which open-weight model would you host yourself for that? mostly coding", thread_id="v")
    assert [(c.name, c.args.get("use_case")) for c in r.tool_calls] == [("select_models", "code")]


def test_an_eu_seat_in_any_wording_and_facts_beside_versioned_names():
    """An EU establishment said by its place before any organisation word ("our Munich office", "an Irish
    fintech", "a Polish software house", "HQ: Stockholm"); a version's dot ("llama 3.1") does not end the sentence a
    licence fact is read in."""
    for text, place in (
        ("our Munich office would host it", "DE"),
        ("we are an Irish fintech", "IE"),
        ("a Polish software house wants it", "PL"),
    ):
        fields = extract(text)
        assert fields["eu_entity"] is True and place in fields["territories"], text
    assert extract("HQ: Stockholm. can we use gemma 3?")["eu_entity"] is True
    fields = extract("we annotate tickets with llama 3.1 8b, then fine-tune our own classifier on those labels. ok?")
    assert fields["use_outputs_to_train_other_models"] is True


def test_a_what_if_no_earlier_analysis_takes_asks_whether_the_model_fits(make_advisor):
    """ "what if we need 128k context?" after a licence answer: the licence check does not take a context, so the
    model in focus is estimated at 128k (not the licence check again)."""
    advisor = make_advisor()
    advisor.ask("can our product use mistral small 3.2?", thread_id="w")
    r = advisor.ask("what if we need 128k context?", thread_id="w")
    assert {(c.name, c.args["model"], c.args["context_length"]) for c in r.tool_calls} == {
        ("estimate_memory", "mistral-small-3.2-24b", 131072)
    }


def test_two_sockets_are_not_two_gpus_and_what_can_i_run_is_a_shortlist(make_advisor):
    """ "dual epyc" is two CPU sockets ("dual" reads as 2), not 2 GPUs; "what can we run" on it is a general
    shortlist of what its 1,024 GB of RAM holds."""
    fields = extract("no gpu, dual xeon 8480 server with 1024GB RAM")
    assert fields["vram_gb"] == 1024 and fields["device_class"] == "cpu" and "num_gpus" not in fields
    r = make_advisor().ask("no gpu here, a dual epyc box with 1024GB RAM. what can we run?", thread_id="cpu")
    [call] = r.tool_calls
    assert (call.name, call.args.get("use_case"), call.args.get("vram_gb"), call.args.get("num_gpus")) == (
        "select_models",
        "general",
        1024,
        None,
    )


def test_devices_in_the_plural_with_no_count_take_the_fewest_that_hold_the_model(make_advisor):
    """ "on H200s" with no count, for a model one H200 (141 GB) cannot hold in any format: the fewest of 2, 4 or 8
    on which a format fits (DeepSeek-V3.2 in AWQ needs about 360 GB: 4), said so; never a "does not fit" answer.
    "one H200" stays one."""
    advisor = make_advisor()
    r = advisor.ask("tokens per second of deepseek v3.2 on rented H200s?", thread_id="p")
    assert [(c.name, c.args.get("num_gpus"), c.args["quantization"]) for c in r.tool_calls] == [
        ("estimate_throughput", 4, "awq")
    ]
    assert "the fewest that hold it" in r.reply.splitlines()[0]
    r = advisor.ask("tokens per second of deepseek v3.2 on one H200?", thread_id="q")
    assert [c.args.get("num_gpus") for c in r.tool_calls] == [1]


def test_can_i_run_and_how_fast_asks_both(make_advisor):
    """ "can we run X ... and how fast" is a fit question and a speed question; "what can I run" stays a shortlist."""
    advisor = make_advisor()
    r = advisor.ask("one rtx 4090 here. can we run qwen3 14b at q4, and how fast is it?", thread_id="cr")
    assert sorted(c.name for c in r.tool_calls) == ["estimate_memory", "estimate_throughput"]
    r = advisor.ask("what can I run on a single L40S for chat?", thread_id="w")
    assert [c.name for c in r.tool_calls] == ["select_models"]
