"""The HTTP API fuzzed against its own OpenAPI document: schemathesis generates valid and invalid requests for every
operation in /openapi.json of a running server (started like tests/test_app.py's) and checks that none gives a 5xx
and that every response matches the documented status codes, content types and schemas. Then each tool is fuzzed
over HTTP with arguments from its own schema and beyond it (the OpenAPI document cannot say which tool takes what)."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

import tools
from tests.reliability_counts import record
from tests.result_schemas import RESULT_SCHEMAS, check_result
from tests.test_app import Server
from tests.test_reliability import _near_valid
from tests.test_tools_properties import args_for

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES_PER_OPERATION = 50  # per generation mode (valid and invalid data); about 20 s in all on two cores
GRADIO_ROUTES = r"^/(gradio_api|config|info|queue|file|upload|theme|assets|static|svelte|login|logout|manifest)"


SERVER_FIXTURES = ("server",)  # fixtures that start the app in a subprocess: their tests are marked `server`


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("schemathesis")).start()
    yield srv
    srv.stop()


def test_openapi_document_has_only_the_advisor_routes(server):
    spec = httpx.get(server.url + "/openapi.json").json()
    assert not [
        p for p in spec["paths"] if re.match(GRADIO_ROUTES, p)
    ]  # Gradio's routes are its own, not documented here
    error = spec["components"]["schemas"]["ErrorBody"]
    assert error["properties"]["error"]
    for path, ops in spec["paths"].items():
        for op in ops.values():
            assert "422" in op["responses"] and "401" in op["responses"], path


def test_schemathesis_finds_no_server_errors_and_no_schema_violations(server):
    from schemathesis import checks
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(server.url + "/openapi.json").exclude(path_regex=GRADIO_ROUTES)
    response_checks = [
        checks.not_a_server_error,
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_schema_conformance,
        checks.response_headers_conformance,
    ]
    failures: list[str] = []
    violations = [0]  # every failing response, not only the distinct messages kept in `failures`
    counts: dict[str, int] = {}
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            key = f"{operation.label} [{mode.value}]"
            counts[key] = 0
            extra = [checks.negative_data_rejection] if mode == GenerationMode.NEGATIVE else []

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(operation.as_strategy(generation_mode=mode))
            def run(case):
                counts[key] += 1
                response = case.call(base_url=server.url, timeout=120)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                try:
                    case.validate_response(response, checks=response_checks + extra)
                except (AssertionError, Exception) as exc:  # collect every distinct failure, then report them all
                    violations[0] += 1
                    message = f"{key}: {str(exc).strip().splitlines()[0:12]}"
                    if len(failures) < 30 and message not in failures:
                        failures.append(message)

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                pass
    total = sum(counts.values())
    record(
        "http.schemathesis",
        requests=total,
        operations=len({k.split(" [")[0] for k in counts}),
        per_operation=counts,
        statuses={str(k): v for k, v in sorted(statuses.items())},
        server_errors=sum(v for k, v in statuses.items() if k >= 500),
        schema_violations=violations[0],
    )
    assert not failures, "\n".join(failures)
    assert total >= 8 * EXAMPLES_PER_OPERATION and counts["POST /v1/chat/completions [negative]"] > 0
    assert not [s for s in statuses if s >= 500]


HTTP_TOOL_EXAMPLES = 40


@pytest.mark.parametrize("name", tools.names())
def test_each_tool_over_http_gives_a_result_or_a_structured_422(server, name):
    """Bodies from the tool's schema and beyond (NaN and Infinity tokens, 100 kB strings, wrong types, unknown
    fields, a valid call with fields broken): only 200 with the tool's result (its result schema, and the same
    result as calling the tool in Python), or 422 with the structured error."""
    seen = {200: 0, 422: 0, "other": 0}
    client = httpx.Client(base_url=server.url, timeout=60)

    @settings(max_examples=HTTP_TOOL_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(args_for(tools.get(name)), _near_valid(name)))
    def run(args):
        body = json.dumps(args)  # allow_nan: NaN and Infinity go over the wire as the tokens Python writes
        if len(body) > 250_000:
            return
        r = client.post(f"/api/tools/{name}", content=body, headers={"content-type": "application/json"})
        seen[r.status_code if r.status_code in (200, 422) else "other"] += 1
        assert r.status_code in (200, 422), (r.status_code, r.text[:500], body[:300])
        data = r.json()
        assert isinstance(data, dict)
        if r.status_code == 422:
            assert data["error"]["type"] == "invalid_input" and data["error"]["message"]
            return
        check_result(name, data)
        assert data == json.loads(json.dumps(tools.call(name, json.loads(body)))), "not the tool's own result"

    try:
        run()
    finally:
        client.close()
        record(
            f"http.tools.{name}",
            requests=sum(seen.values()),
            ok=seen[200],
            invalid_input=seen[422],
            other_status=seen["other"],
        )


def test_every_tool_has_a_result_schema():
    assert set(RESULT_SCHEMAS) == set(tools.names())
