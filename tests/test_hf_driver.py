"""The real `hf` loading path on a tiny Llama the test builds (no download), tool-call parsing per format,
and the messages a user sees when CUDA or the weights are missing."""

from __future__ import annotations

import json

import pytest

from advisor.drivers import toolcalls

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

CHAT_TEMPLATE = (
    "{%- if tools %}<|im_start|>system\n{% if messages[0].role == 'system' %}{{ messages[0].content }}\n{% endif %}"
    "# Tools\n<tools>{% for t in tools %}{{ t | tojson }}{% endfor %}</tools>\n"
    'Call a tool as <tool_call>{"name": ..., "arguments": {...}}</tool_call><|im_end|>\n{%- endif %}'
    "{%- for m in messages %}{%- if m.role == 'system' and tools %}{%- elif m.role == 'tool' %}"
    "<|im_start|>user\n<tool_response>{{ m.content }}</tool_response><|im_end|>\n"
    "{%- else %}<|im_start|>{{ m.role }}\n{{ m.content }}"
    '{%- if m.tool_calls %}{% for c in m.tool_calls %}<tool_call>{"name": "{{ c.function.name }}", '
    '"arguments": {{ c.function.arguments | tojson }}}</tool_call>{% endfor %}{% endif %}<|im_end|>\n{%- endif %}'
    "{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}"
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = tmp_path_factory.mktemp("tiny-llama")
    corpus = [
        "Which model fits one RTX 4090 for coding?",
        "estimate_memory get_model select_models arguments name",
        "The answer is 16 GB of weights and 1 GB of KV cache.",
        '{"name": "get_model", "arguments": {}}',
    ] * 50
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    specials = ["<unk>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]
    tok.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    from tokenizers import decoders

    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        bos_token="<|im_start|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32768,  # a 400-token vocabulary spells the tools out in many tokens
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    return str(path)


def _model(path: str, quantization: str = "none", **settings):
    import tools
    from advisor.drivers.hf import HFChatModel

    settings = {"tool_tokens": 100_000, "max_new_tokens": 6, **settings}
    m = HFChatModel(model_id=path, quantization=quantization, device="cpu", **settings)
    return m.bind_tools(tools.schemas())


def test_tools_go_through_the_models_chat_template(tiny_model):
    from langchain_core.messages import HumanMessage, SystemMessage

    model = _model(tiny_model)
    inputs = model._inputs(
        [SystemMessage(content="You advise."), HumanMessage(content="Which model fits one RTX 4090?")]
    )
    prompt = model._tokenizer.decode(inputs["input_ids"][0])
    assert "<tools>" in prompt and "estimate_memory" in prompt and "select_models" in prompt
    assert prompt.rstrip().endswith("assistant")


def test_generates_and_streams(tiny_model):
    from langchain_core.messages import AIMessage, HumanMessage

    model = _model(tiny_model)
    prompt = [HumanMessage(content="Which model fits one RTX 4090 for coding?")]
    reply = model.invoke(prompt)
    assert isinstance(reply, AIMessage) and isinstance(reply.content, str)
    assert model.invoke(prompt).content == reply.content  # greedy decoding: the same text every time
    chunks = list(model.stream(prompt))
    assert chunks, "streaming yields at least the final chunk"
    assert "".join(c.content for c in chunks) == reply.content  # the stream is the same text, piece by piece


@pytest.mark.gpu
def test_real_cuda_path_loads_4bit_and_generates(tiny_model):
    """The path the hf driver takes on a GPU: bitsandbytes NF4 weights on CUDA, generation, streaming."""
    pytest.importorskip("bitsandbytes")
    from langchain_core.messages import HumanMessage

    from advisor.drivers.hf import HFChatModel, load

    _, raw, _ = load(tiny_model, "4bit", "cuda")  # refuses without a GPU
    assert next(raw.parameters()).is_cuda or any(p.is_cuda for p in raw.parameters())
    assert "Linear4bit" in {type(m).__name__ for m in raw.modules()}
    model = HFChatModel(model_id=tiny_model, quantization="4bit", device="cuda", max_new_tokens=6).bind_tools([])
    prompt = [HumanMessage(content="Which model fits one RTX 4090 for coding?")]
    reply = model.invoke(prompt)
    assert isinstance(reply.content, str)
    assert "".join(c.content for c in model.stream(prompt)) == reply.content


def test_tool_history_renders_for_the_next_call(tiny_model):
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    model = _model(tiny_model)
    msgs = [
        HumanMessage(content="memory?"),
        AIMessage(
            content="",
            tool_calls=[{"name": "get_model", "args": {"model": "llama 3.1 8b"}, "id": "c1", "type": "tool_call"}],
        ),
        ToolMessage(content=json.dumps({"params_b": 8.03}), tool_call_id="c1", name="get_model"),
    ]
    inputs = model._inputs(msgs)
    prompt = model._tokenizer.decode(inputs["input_ids"][0])
    assert '<tool_call>{"name": "get_model"' in prompt and "<tool_response>" in prompt and "8.03" in prompt


def test_bitsandbytes_4bit_config_loads_on_cpu(tiny_model):
    pytest.importorskip("bitsandbytes")
    from advisor.drivers.hf import load, quantization_config

    qc = quantization_config("4bit")
    assert qc.load_in_4bit and qc.bnb_4bit_quant_type == "nf4" and qc.bnb_4bit_use_double_quant
    assert qc.bnb_4bit_compute_dtype == torch.bfloat16
    _, model, loaded = load(tiny_model, "4bit", "cpu", device_map=None)
    assert loaded.device == "cpu" and loaded.quantization == "4bit"
    kinds = {type(m).__name__ for m in model.modules()}
    assert "Linear4bit" in kinds


def test_refuses_the_cpu_unless_asked(tiny_model, monkeypatch):
    from advisor.drivers.hf import ModelUnavailable, load

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("auto", "cuda"):
        with pytest.raises(ModelUnavailable, match="no CUDA GPU") as err:
            load(tiny_model, "4bit", device)
        assert "--device cpu" in str(err.value)


def test_missing_weights_name_the_model_and_the_fix():
    from advisor.drivers.hf import ModelUnavailable, load

    with pytest.raises(ModelUnavailable) as err:
        load("some-org/not-cached-model-xyz", "none", "cpu")
    assert "some-org/not-cached-model-xyz" in str(err.value) and "hf download" in str(err.value)


def test_auto_driver_without_cuda_is_offline(monkeypatch):
    from advisor.config import Settings
    from advisor.drivers import make_driver

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model, info = make_driver(Settings(driver="auto", db=":memory:"))
    assert info.offline and "no CUDA" in info.reason


# ---------------------------------------------------------------- tool-call formats


def test_parse_hermes_qwen():
    p = toolcalls.parse(
        'Let me check.<tool_call>\n{"name": "get_model", "arguments": {"model": "qwen3 8b"}}\n</tool_call>'
        '<tool_call>{"name": "list_gpus", "arguments": {}}</tool_call>'
    )
    assert [c["name"] for c in p.calls] == ["get_model", "list_gpus"]
    assert p.calls[0]["args"] == {"model": "qwen3 8b"} and p.content == "Let me check."


def test_parse_llama31_json_and_python_tag():
    p = toolcalls.parse(
        '<|python_tag|>{"name": "estimate_memory", "parameters": {"model": "llama 3.1 8b", "quantization": "int4"}}'
    )
    assert p.calls[0]["name"] == "estimate_memory" and p.calls[0]["args"]["quantization"] == "int4"
    two = toolcalls.parse(
        '{"name": "get_model", "parameters": {"model": "a"}}; {"name": "get_model", "parameters": {"model": "b"}}'
    )
    assert [c["args"]["model"] for c in two.calls] == ["a", "b"]


def test_parse_mistral_both_styles():
    v3 = toolcalls.parse(
        '[TOOL_CALLS] [{"name": "check_license", "arguments": {"model": "mistral 7b", "commercial": true}}]'
    )
    assert v3.calls[0]["args"]["commercial"] is True
    v11 = toolcalls.parse('[TOOL_CALLS]get_model[ARGS]{"model": "mistral nemo"}')
    assert v11.calls[0] == {"name": "get_model", "args": {"model": "mistral nemo"}, "id": v11.calls[0]["id"]}


def test_parse_repairs_small_slips_and_reports_the_rest():
    fixed = toolcalls.parse('<tool_call>{"name": "get_model", "arguments": {"model": "x",},}</tool_call>')
    assert fixed.calls and fixed.calls[0]["args"] == {"model": "x"}
    broken = toolcalls.parse("<tool_call>{name: get_model, arguments: oops</tool_call>")
    assert not broken.calls and broken.invalid and "not valid JSON" in broken.invalid[0]["error"]
    nameless = toolcalls.parse('<tool_call>{"arguments": {}}</tool_call>')
    assert nameless.invalid and "no 'name'" in nameless.invalid[0]["error"]


def test_plain_text_is_not_a_tool_call():
    p = toolcalls.parse("<think>hmm</think>Llama 3.1 8B fits in 4-bit.")
    assert p.calls == [] and p.content == "Llama 3.1 8B fits in 4-bit."


def test_an_abandoned_call_stops_generating_and_frees_the_model_for_the_next(tiny_model):
    """A call past its deadline is abandoned by call_with_deadline; its generation must stop at that deadline (a
    stopping criterion), or the next call would wait for the lock until max_new_tokens were spent."""
    import time

    from langchain_core.messages import HumanMessage

    from tools.registry import call_with_deadline

    model = _model(tiny_model, max_new_tokens=30_000, repetition_guard=0).bind_tools([])  # a short prompt
    model.ensure_loaded()
    model._model.generation_config.eos_token_id = None  # a random model could end by chance: it must run on
    prompt = [HumanMessage(content="Which model fits one RTX 4090 for coding?")]
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        call_with_deadline(lambda: model.invoke(prompt), 1.0)
    assert model._lock.acquire(timeout=10), "the abandoned generation still holds the model"
    model._lock.release()
    freed = time.monotonic() - started
    model.max_new_tokens = 3
    reply = call_with_deadline(lambda: model.invoke(prompt), 30)
    assert isinstance(reply.content, str) and freed < 11


def test_a_call_without_an_outer_deadline_stops_at_its_own_timeout(tiny_model):
    from langchain_core.messages import HumanMessage

    model = _model(tiny_model, max_new_tokens=30_000, repetition_guard=0, timeout_s=2.0).bind_tools([])
    model.ensure_loaded()
    model._model.generation_config.eos_token_id = None
    with pytest.raises(TimeoutError, match="deadline"):
        model.invoke([HumanMessage(content="hi")])


# ---------------------------------------------------------------- family templates' demands on the history

ONE_CALL_TEMPLATE = (  # as Llama 3.1's: one tool call per assistant message, results as their own turns
    "{%- for m in messages %}{%- if m.tool_calls %}{%- if m.tool_calls | length != 1 %}"
    "{{ raise_exception('This model only supports single tool-calls at once!') }}{%- endif %}"
    "<call>{{ m.tool_calls[0].function.name }}</call>{%- else %}<{{ m.role }}>{{ m.content }}{%- endif %}{%- endfor %}"
)
NINE_CHARACTER_IDS = (  # as Mistral's: tool-call ids of nine letters and digits
    "{%- for m in messages %}{%- for c in m.tool_calls or [] %}{%- if c.id | length != 9 %}"
    "{{ raise_exception('Tool call IDs should be alphanumeric strings with length 9!') }}{%- endif %}"
    "[TOOL_CALLS]{{ c.id }}{%- endfor %}{%- if m.role == 'tool' %}[TOOL_RESULTS]{{ m.tool_call_id }}{%- endif %}"
    "{%- endfor %}"
)


def _history():
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    calls = [
        {"name": "get_model", "args": {"model": "a"}, "id": "call_aaaaaaaaaaaa", "type": "tool_call"},
        {"name": "check_license", "args": {"model": "a"}, "id": "call_bbbbbbbbbbbb", "type": "tool_call"},
    ]
    return [
        HumanMessage(content="q"),
        AIMessage(content="", tool_calls=calls),
        ToolMessage(content="ra", tool_call_id="call_aaaaaaaaaaaa", name="get_model"),
        ToolMessage(content="rb", tool_call_id="call_bbbbbbbbbbbb", name="check_license"),
    ]


def test_a_one_call_template_gets_parallel_calls_one_by_one(tiny_model):
    from advisor.drivers.hf import render_chat, to_template_messages

    tok = transformers.AutoTokenizer.from_pretrained(tiny_model)
    tok.chat_template = ONE_CALL_TEMPLATE
    text = render_chat(tok, to_template_messages(_history()), [])
    assert text == "<user>q<call>get_model</call><tool>ra<call>check_license</call><tool>rb"


def test_a_nine_character_id_template_accepts_the_drivers_ids(tiny_model):
    from advisor.drivers.hf import render_chat, to_template_messages

    tok = transformers.AutoTokenizer.from_pretrained(tiny_model)
    tok.chat_template = NINE_CHARACTER_IDS
    text = render_chat(tok, to_template_messages(_history()), [])
    ids = text.split("[TOOL_CALLS]")[1:]
    assert len(ids) == 2 and all(len(i.split("[")[0]) == 9 for i in ids)
    assert text.count("[TOOL_RESULTS]") == 2 and ids[0][:9] in text.split("[TOOL_RESULTS]")[1]
