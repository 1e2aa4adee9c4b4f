"""Monthly cost of serving a token volume: API prices, rented GPUs, owned GPUs; and break-even volumes."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field

from catalog.query import rental_summary
from catalog.schema import ApiPrice, Gpu, Model, Quantization
from tools import common
from tools.errors import InvalidInput
from tools.memory import GPU_COUNTS, Engine, check_engine, estimate, resolve_quantization, usable_bytes
from tools.throughput import throughput

HOURS_PER_MONTH = 730  # 8,760 h / 12
STANDARD_VOLUMES = (1_000_000, 10_000_000, 100_000_000)
DEFAULT_API_MODELS = (  # current comparators (LiteLLM's "-latest" aliases on 2026-12-01); retired ones drop out
    "openai/gpt-6-luna",
    "openai/gpt-6.1-sol",
    "anthropic/claude-haiku-5.5",
    "anthropic/claude-sonnet-5.5",
    "google/gemini-3.8-flash",
)
IDLE_POWER_SHARE = 0.3  # share of board power drawn while idle
# What a missing input is, in the words an assumption gives it (the result's "missing" list names the argument)
MISSING_WORDS = {"hardware_usd": "the hardware's price", "gpu_usd_per_hour": "the GPU's hourly price"}


@dataclass
class Option:
    name: str
    kind: str  # api | cloud_gpu | on_prem
    cost: Callable[[float], float]  # monthly tokens -> monthly USD
    assumptions: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    capacity: float | None = None  # monthly tokens one replica serves
    grid_costs: dict = field(default_factory=dict, repr=False, compare=False)  # (lo, hi) -> cost at each grid volume

    def costs_on(self, lo: float, hi: float) -> list[float]:
        """cost() at every volume of the break-even grid, computed once per option (cost is pure)."""
        key = (lo, hi)
        if key not in self.grid_costs:
            self.grid_costs[key] = [self.cost(v) for v in _grid(lo, hi)]
        return self.grid_costs[key]


def _at_rate(usd_per_mtok: float, monthly_tokens: float) -> float:
    return monthly_tokens / 1e6 * usd_per_mtok


def _api_option(p: ApiPrice, input_share: float) -> Option:
    rate = input_share * p.usd_per_mtok_input + (1 - input_share) * p.usd_per_mtok_output
    src = p.source
    return Option(
        name=f"{p.provider} {p.model_name} (API)",
        kind="api",
        cost=functools.partial(_at_rate, rate),
        assumptions=[
            f"${p.usd_per_mtok_input}/1M input and ${p.usd_per_mtok_output}/1M output tokens as of {src.as_of}",
            "prompts and outputs leave your premises"
            + (" (an open model hosted by a provider)" if p.kind == "hosted_open" else ""),
        ],
        sources=[src.url],
        details={"price_id": p.id, "usd_per_mtok_blended": common.rnd(rate, 4)},
    )


def _custom_api_option(usd_in: float, usd_out: float, input_share: float) -> Option:
    rate = input_share * usd_in + (1 - input_share) * usd_out
    return Option(
        name="Your API price",
        kind="api",
        cost=functools.partial(_at_rate, rate),
        assumptions=[f"${usd_in}/1M input and ${usd_out}/1M output tokens, as you gave them"],
        details={"usd_per_mtok_blended": common.rnd(rate, 4)},
    )


@dataclass
class ServingCapacity:
    busy_hours_per_mtok: float  # GPU-replica hours needed per million tokens of the input/output mix
    decode_tps: float
    prefill_tps: float
    concurrency: int
    notes: list[str]


def serving_capacity(
    m: Model, q: Quantization, g: Gpu, engine: str, num_gpus: int, concurrency: int, context: int, input_share: float
) -> ServingCapacity:
    r = throughput(m, q, g, engine, concurrency, context, num_gpus)
    notes: list[str] = []
    decode = r["aggregate_tokens_per_s"]
    if not decode:
        raise InvalidInput(
            f"{m.name} in {q.id} does not fit {num_gpus} x {g.name} at {context} tokens of context; "
            "choose a smaller quantization, more GPUs or a larger GPU",
            field="gpu",
        )
    prefill = r["prefill_tokens_per_s"]
    if prefill is None:
        prefill = decode * 10
        notes.append(
            f"{g.name} has no compute figure in the catalog: input tokens assumed processed 10x faster than output "
            f"tokens"
        )
    seconds_per_mtok = 1e6 * (input_share / prefill + (1 - input_share) / decode)
    notes.append(
        f"{r['effective_concurrency']} concurrent requests: {decode} output tokens/s and {prefill} input tokens/s per "
        f"replica (estimate_throughput)"
    )
    return ServingCapacity(seconds_per_mtok / 3600, decode, prefill, r["effective_concurrency"], notes)


def _cloud_options(
    m, q, g, eng, num_gpus, usd_per_hour, price_note, cap: ServingCapacity, utilization: float, sources
) -> list[Option]:
    replica_hour_usd = usd_per_hour * num_gpus
    monthly_capacity = HOURS_PER_MONTH * utilization / cap.busy_hours_per_mtok * 1e6
    label = f"{m.name} {q.name} on {num_gpus} x {g.name}"
    always_on = Option(
        name=f"{label}, rented, always on",
        kind="cloud_gpu",
        cost=lambda v: max(1, math.ceil(v / monthly_capacity)) * replica_hour_usd * HOURS_PER_MONTH,
        assumptions=[
            price_note,
            f"rented {HOURS_PER_MONTH} h a month; a replica runs at most {int(utilization * 100)}% busy on average "
            "to absorb traffic peaks, and more replicas are added when volume needs them",
            *cap.notes,
        ],
        sources=sources,
        details={
            "replica_usd_per_month": common.rnd(replica_hour_usd * HOURS_PER_MONTH),
            "monthly_tokens_per_replica": int(monthly_capacity),
        },
        capacity=monthly_capacity,
    )
    on_demand = Option(
        name=f"{label}, rented by the busy hour",
        kind="cloud_gpu",
        cost=lambda v: v / 1e6 * cap.busy_hours_per_mtok / utilization * replica_hour_usd,
        assumptions=[
            price_note,
            f"billed only for busy hours (scale to zero), at {int(utilization * 100)}% average utilisation while up; "
            "cold starts and minimum billing are not included",
            *cap.notes,
        ],
        sources=sources,
        details={"gpu_hours_per_mtok": common.rnd(cap.busy_hours_per_mtok / utilization * num_gpus, 4)},
    )
    return [always_on, on_demand]


def _on_prem_option(
    m, q, g, num_gpus, hardware_usd, cap, utilization, amortization_months, usd_per_kwh, sources
) -> Option:
    monthly_capacity = HOURS_PER_MONTH * utilization / cap.busy_hours_per_mtok * 1e6
    tdp = g.tdp_w or 0.0

    def cost(v: float) -> float:
        replicas = max(1, math.ceil(v / monthly_capacity))
        busy_share = min(1.0, v / (replicas * monthly_capacity) * utilization)
        draw_kw = tdp / 1000 * num_gpus * replicas * (IDLE_POWER_SHARE + (1 - IDLE_POWER_SHARE) * busy_share)
        return replicas * hardware_usd / amortization_months + draw_kw * HOURS_PER_MONTH * usd_per_kwh

    notes = [
        f"hardware ${common.rnd(hardware_usd, 0)} per replica ({num_gpus} x {g.name}) written off over "
        f"{amortization_months} months; "
        "host server, networking and staff not included",
        f"electricity ${usd_per_kwh}/kWh at {int(tdp)} W per GPU, {int(IDLE_POWER_SHARE * 100)}% of that while idle"
        if tdp
        else "power not included: the GPU's board power is not reported in the catalog",
        *cap.notes,
    ]
    return Option(
        name=f"{m.name} {q.name} on {num_gpus} x {g.name}, owned",
        kind="on_prem",
        cost=cost,
        assumptions=notes,
        sources=sources,
        details={"hardware_usd": common.rnd(hardware_usd, 0), "monthly_tokens_per_replica": int(monthly_capacity)},
        capacity=monthly_capacity,
    )


@functools.lru_cache(maxsize=8)
def _grid(lo: float, hi: float) -> tuple[float, ...]:
    return tuple(lo * (hi / lo) ** (i / 400) for i in range(401))


def break_even(a: Option, b: Option, lo: float = 1e4, hi: float = 1e13) -> float | None:
    """Smallest monthly volume at which the cheaper of the two changes, searched on a log grid and refined.

    The cheaper one changes where the option that was strictly cheaper stops being so and the other becomes at least
    as cheap, having been strictly cheaper nowhere before. Equal costs are no change: two options equal everywhere
    or parallel (equal rates, whatever their float rounding), or equal at the grid's start and then one cheaper,
    have no break-even there; equal costs that end with the other option cheaper break even where they began."""

    def side(v: float, d: float | None = None) -> int:  # -1: a is cheaper, 1: b is cheaper, 0: a tie
        d = a.cost(v) - b.cost(v) if d is None else d
        return (d > 0) - (d < 0)

    grid = _grid(lo, hi)
    # each option's cost on the grid is computed once and shared by every pair it is in
    diffs = [x - y for x, y in zip(a.costs_on(lo, hi), b.costs_on(lo, hi))]
    cheaper, since = 0, grid[0]  # the side strictly cheaper so far, and the last grid volume where it was
    for v, d in zip(grid, diffs):
        s = side(v, d)
        if s and cheaper and s != cheaper:
            x0, x1 = since, v
            for _ in range(60):
                mid = math.sqrt(x0 * x1)
                if side(mid) == cheaper:
                    x0 = mid
                else:
                    x1 = mid
            return x1
        if s:
            cheaper, since = s, v
    return None


def fewest_gpus(m: Model, q: Quantization, engine: str, context: int, g: Gpu, counts=GPU_COUNTS) -> int | None:
    limit = usable_bytes(g, engine)
    per_node = g.gpus_per_node or 8
    for n in counts:
        if n > per_node and engine not in ("vllm", "sglang", "tensorrt-llm", "llama.cpp"):
            break  # transformers and MLX do not span nodes
        if estimate(m, q, engine, context, 1, 2.0, n).per_gpu <= limit:
            return n
    return None


def cheapest_cloud_fit(m: Model, q: Quantization, engine: str, context: int) -> tuple[Gpu, int] | None:
    """The rented configuration with the lowest median hourly price that holds the model at this context."""
    cat = common.catalog()
    best = None
    for g in cat.gpus.values():
        rent = rental_summary(g)
        if rent is None or (q.needs_fp8_hardware and not g.fp8) or (q.needs_fp4_hardware and not g.fp4):
            continue
        n = fewest_gpus(m, q, engine, context, g)
        if n is not None and (best is None or rent.usd * n < best[0]):
            best = (rent.usd * n, g, n)
    return (best[1], best[2]) if best else None


def live_price(p: ApiPrice) -> bool:
    """An API endpoint not yet past the retirement date its provider announced."""
    as_of = common.catalog_as_of()
    return p.deprecation_date is None or as_of is None or p.deprecation_date > as_of


def estimate_cost(
    monthly_tokens: Annotated[int, Field(ge=1, le=10**13)],
    input_share: Annotated[float, Field(ge=0, le=1)] = 0.75,
    model: str | None = None,
    gpu: str | None = None,
    num_gpus: Annotated[int | None, Field(ge=1, le=1024)] = None,
    gpu_usd_per_hour: Annotated[float | None, Field(ge=0, le=10**7)] = None,
    quantization: str = "bf16",
    engine: Engine = "auto",
    api_models: Annotated[list[str] | None, Field(max_length=30)] = None,
    api_usd_per_mtok_input: Annotated[float | None, Field(ge=0, le=10**7)] = None,
    api_usd_per_mtok_output: Annotated[float | None, Field(ge=0, le=10**7)] = None,
    on_prem: bool = True,
    hardware_usd: Annotated[float | None, Field(ge=0, le=10**7)] = None,
    utilization: Annotated[float, Field(ge=0.01, le=1)] = 0.5,
    concurrency: Annotated[int, Field(ge=1, le=4096)] = 16,
    context_length: Annotated[int, Field(ge=1, le=10_000_000)] = 2048,
    amortization_months: Annotated[int, Field(ge=1, le=240)] = 36,
    electricity_usd_per_kwh: Annotated[float, Field(ge=0, le=10)] = 0.15,
) -> dict:
    """Compare the monthly cost of a token volume across APIs, rented GPUs and owned GPUs, with $ per 1M tokens and
    break-even volumes, for the given volume and for 1M, 10M and 100M tokens a month.

    Args:
        monthly_tokens: Tokens a month, input and output together.
        input_share: Share of the tokens that are input (prompt); the rest is output.
        model: Open model to self-host (catalog id or name); also selects hosted offers of it.
        gpu: GPU to run it on; default: the cheapest rented GPU configuration that holds it.
        num_gpus: GPUs per replica; default: the fewest that hold the model.
        gpu_usd_per_hour: Your price per GPU-hour; default: the median on-demand price in the catalog (its range
            is shown).
        quantization: Weight format for the self-hosted model (or native: the format the vendor ships).
        engine: Serving engine for the self-hosted model; auto picks the usual one for the format.
        api_models: API offers to compare (price ids or names, e.g. "gpt-4o-mini"); default: a few common ones.
        api_usd_per_mtok_input: Your own API input price, $ per 1M tokens.
        api_usd_per_mtok_output: Your own API output price, $ per 1M tokens.
        on_prem: Include buying the GPUs (needs a purchase price in the catalog or hardware_usd).
        hardware_usd: Purchase price of one replica's GPUs, overriding the catalog.
        utilization: Average share of time a self-hosted replica is busy (traffic peaks need headroom).
        concurrency: Requests a self-hosted replica serves at once.
        context_length: Average tokens in context per request.
        amortization_months: Months over which owned hardware is written off.
        electricity_usd_per_kwh: Electricity price for owned hardware.
    """
    if (api_usd_per_mtok_input is None) != (api_usd_per_mtok_output is None):
        missing = "api_usd_per_mtok_output" if api_usd_per_mtok_output is None else "api_usd_per_mtok_input"
        raise InvalidInput("give both api_usd_per_mtok_input and api_usd_per_mtok_output", field=missing)
    assumptions = [
        f"{int(input_share * 100)}% of tokens are input, {100 - int(input_share * 100)}% output",
        f"a month is {HOURS_PER_MONTH} hours",
    ]
    m = common.model(model) if model else None
    options = _api_options(m, api_models, input_share, assumptions)
    if api_usd_per_mtok_input is not None and api_usd_per_mtok_output is not None:
        options.append(_custom_api_option(api_usd_per_mtok_input, api_usd_per_mtok_output, input_share))
    hosting = None
    if m is not None:
        hosting = SelfHosting(
            m,
            gpu,
            num_gpus,
            gpu_usd_per_hour,
            quantization,
            engine,
            on_prem,
            hardware_usd,
            utilization,
            concurrency,
            min(context_length, m.context_length),
            amortization_months,
            electricity_usd_per_kwh,
            input_share,
        )
        options += hosting.options(assumptions)
    if not options:
        raise InvalidInput("nothing to compare: give a model to self-host, or api_models / an API price", field="model")
    rows = [_option_row(o, monthly_tokens) for o in options]
    return {
        "monthly_tokens": int(monthly_tokens),
        "input_share": input_share,
        "options": rows,
        "cheapest": min(rows, key=lambda r: r["monthly_usd"])["name"],
        "break_even": _break_evens(options),
        "table": [
            {"monthly_tokens": v, "costs": [{"name": o.name, "monthly_usd": common.rnd(o.cost(v))} for o in options]}
            for v in sorted(set(STANDARD_VOLUMES) | {int(monthly_tokens)})
        ],
        "curve": _curve(options),
        "self_hosted": (hosting.summary if hosting else None) or None,
        "missing": hosting.missing if hosting else [],
        "assumptions": assumptions,
        "sources": list(dict.fromkeys(s for o in options for s in o.sources)),
    }


def _api_options(
    m: Model | None, api_models: list[str] | None, input_share: float, assumptions: list[str]
) -> list[Option]:
    """API offers: the ones asked for, else the defaults plus the cheapest hosted offers of the model."""
    cat = common.catalog()
    if api_models is not None:
        chosen = [common.lookup("price", name, "api_models") for name in api_models]
    else:
        chosen = [cat.prices[p] for p in DEFAULT_API_MODELS if p in cat.prices and live_price(cat.prices[p])]
        if m is not None:
            hosted = sorted(
                (p for p in cat.prices.values() if p.open_model == m.id and live_price(p)),
                key=lambda p: input_share * p.usd_per_mtok_input + (1 - input_share) * p.usd_per_mtok_output,
            )
            chosen = hosted[:3] + chosen
    for p in dict.fromkeys(chosen):
        if not live_price(p):
            assumptions.append(
                f"{p.provider} {p.model_name}: the provider retires this endpoint on {p.deprecation_date}"
            )
    return [_api_option(p, input_share) for p in dict.fromkeys(chosen)]


@dataclass
class SelfHosting:
    """Serving the model yourself: where (the GPU named, or the cheapest rented one that holds it), and what renting
    and owning that cost. What cannot be costed for want of a price is listed in ``missing``."""

    model: Model
    gpu_name: str | None
    num_gpus: int | None
    gpu_usd_per_hour: float | None
    quantization: str
    engine: str
    on_prem: bool
    hardware_usd: float | None
    utilization: float
    concurrency: int
    context: int
    amortization_months: int
    usd_per_kwh: float
    input_share: float
    missing: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    def options(self, assumptions: list[str]) -> list[Option]:
        model = self.model
        quant = resolve_quantization(self.quantization, model=model)
        engine_name = check_engine(self.engine, quant)
        gpu, count = self._placement(quant, engine_name, assumptions)
        capacity = serving_capacity(
            model, quant, gpu, engine_name, count, self.concurrency, self.context, self.input_share
        )
        options = self._rented(quant, engine_name, gpu, count, capacity, assumptions)
        if self.on_prem:
            options += self._owned(quant, gpu, count, capacity)
        self.summary = {
            "model": model.id,
            "gpu": gpu.id,
            "num_gpus": count,
            "quantization": quant.id,
            "engine": engine_name,
            "output_tokens_per_s": capacity.decode_tps,
            "input_tokens_per_s": capacity.prefill_tps,
            "concurrency": capacity.concurrency,
        }
        for item in self.missing:
            assumptions.append(f"missing: {item['what']}; {item['why']} (give {MISSING_WORDS[item['argument']]})")
        return options

    def _placement(self, quant: Quantization, engine_name: str, assumptions: list[str]) -> tuple[Gpu, int]:
        """The GPU and how many of them: as given, else the fewest that hold the model; without a GPU, the cheapest
        rented configuration that holds it."""
        model, ctx = self.model, self.context
        fewest: int | None
        if self.gpu_name is None:
            found = cheapest_cloud_fit(model, quant, engine_name, ctx)
            if found is None:
                raise InvalidInput(
                    f"no rented GPU configuration in the catalog (up to 64 GPUs) holds {model.name} in "
                    f"{quant.id}; try a smaller quantization",
                    field="quantization",
                )
            gpu, fewest = found
            assumptions.append(
                f"GPU chosen: the cheapest rented configuration that holds {model.name} in {quant.id} "
                f"({fewest} x {gpu.name})"
            )
        else:
            gpu = common.gpu(self.gpu_name)
            fewest = fewest_gpus(model, quant, engine_name, ctx, gpu)
            if fewest is None and self.num_gpus is None:
                raise InvalidInput(
                    f"{model.name} in {quant.id} does not fit even {GPU_COUNTS[-1]} x {gpu.name}; try a smaller "
                    "quantization or another GPU",
                    field="gpu",
                )
        if quant.needs_fp8_hardware and not gpu.fp8:
            raise InvalidInput(f"{quant.id} needs FP8 hardware, which {gpu.name} lacks", field="quantization")
        if quant.needs_fp4_hardware and not gpu.fp4:
            raise InvalidInput(
                f"{quant.id} needs FP4 hardware (Blackwell), which {gpu.name} lacks", field="quantization"
            )
        return gpu, self.num_gpus or fewest  # type: ignore[return-value]

    def _rented(
        self,
        quant: Quantization,
        engine_name: str,
        gpu: Gpu,
        count: int,
        capacity: ServingCapacity,
        assumptions: list[str],
    ) -> list[Option]:
        """Renting: at the price given, else the catalog's median; a named GPU with no price is costed on the
        cheapest priced GPU that holds the model instead, and said so."""
        model, gsources = self.model, [s.url for s in gpu.sources.values()]
        rent = rental_summary(gpu)
        usd: float | None = None
        if self.gpu_usd_per_hour is not None:
            usd, note, sources = (
                self.gpu_usd_per_hour,
                f"${self.gpu_usd_per_hour} per GPU-hour, as you gave it",
                gsources,
            )
        elif rent is not None:
            usd, note, sources = rent.usd, rent.note, list(rent.sources) + gsources
        if usd is not None:
            return _cloud_options(model, quant, gpu, engine_name, count, usd, note, capacity, self.utilization, sources)
        self.missing.append(
            {
                "what": f"a rental price for {gpu.name}",
                "argument": "gpu_usd_per_hour",
                "why": "renting it cannot be costed without one",
            }
        )
        found = cheapest_cloud_fit(model, quant, engine_name, self.context) if self.gpu_name is not None else None
        if found is None:
            return []
        other, count = found
        other_rent = rental_summary(other)
        assert other_rent is not None  # cheapest_cloud_fit considers only devices with a rental price
        other_cap = serving_capacity(
            model, quant, other, engine_name, count, self.concurrency, self.context, self.input_share
        )
        assumptions.append(
            f"the catalog has no rental price for {gpu.name}: renting is shown on {count} x {other.name} "
            "instead; give its hourly price to cost renting the GPU you named"
        )
        return _cloud_options(
            model,
            quant,
            other,
            engine_name,
            count,
            other_rent.usd,
            other_rent.note,
            other_cap,
            self.utilization,
            list(other_rent.sources),
        )

    def _owned(self, quant: Quantization, gpu: Gpu, count: int, capacity: ServingCapacity) -> list[Option]:
        hardware = (
            self.hardware_usd if self.hardware_usd is not None else (gpu.purchase.usd * count if gpu.purchase else None)
        )
        if hardware is None:
            self.missing.append(
                {
                    "what": f"a purchase price for {gpu.name}",
                    "argument": "hardware_usd",
                    "why": "owning it cannot be costed without one",
                }
            )
            return []
        sources = [gpu.purchase.source.url] if (self.hardware_usd is None and gpu.purchase) else []
        rent = rental_summary(gpu) if self.gpu_usd_per_hour is None else None
        sources += (list(rent.sources) if rent else []) + [s.url for s in gpu.sources.values()]
        return [
            _on_prem_option(
                self.model,
                quant,
                gpu,
                count,
                hardware,
                capacity,
                self.utilization,
                self.amortization_months,
                self.usd_per_kwh,
                sources,
            )
        ]


def _option_row(o: Option, volume: float) -> dict:
    cost = o.cost(volume)
    return {
        "name": o.name,
        "kind": o.kind,
        "monthly_usd": common.rnd(cost),
        "usd_per_mtok": common.rnd(cost / (volume / 1e6), 4),
        "assumptions": o.assumptions,
        "sources": o.sources,
        **o.details,
    }


def _break_evens(options: list[Option]) -> list[dict]:
    """Each self-hosted option against each API: the volume where the cheaper one changes (and changes back)."""
    breaks = []
    for h in (o for o in options if o.kind != "api"):
        for a in (o for o in options if o.kind == "api"):
            breaks.append({"self_hosted": h.name, "api": a.name, **_crossing(h, a)})
    return breaks


def _crossing(h: Option, a: Option) -> dict:
    v = break_even(h, a)
    if v is None:
        cheaper = h.name if h.cost(1e9) < a.cost(1e9) else a.name
        return {
            "monthly_tokens": None,
            "note": f"no crossing between 10^4 and 10^13 tokens a month; {cheaper} is cheaper throughout",
        }
    # the side cheaper just past the crossing; a replica added later can make the curves cross again
    above = h.name if h.cost(v * 1.001) < a.cost(v * 1.001) else a.name
    again = break_even(h, a, lo=v * 1.001)
    entry = {
        "monthly_tokens": int(round(v, -3)),
        "monthly_usd": common.rnd(a.cost(v)),
        "note": f"above about {_fmt_tokens(v)} tokens a month, {above} is cheaper"
        + (f" until about {_fmt_tokens(again)}, where they cross again" if again else ""),
    }
    if again is not None:
        entry["until_monthly_tokens"] = int(round(again, -3))
    return entry


def _curve(options: list[Option]) -> dict:
    volumes = [int(10 ** (5 + i * 0.25)) for i in range(21)]  # 10^5 .. 10^10 tokens a month
    return {
        "monthly_tokens": volumes,
        "series": [
            {"name": o.name, "kind": o.kind, "monthly_usd": [common.rnd(o.cost(v)) for v in volumes]} for o in options
        ],
    }


def _fmt_tokens(v: float) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.0f}"
