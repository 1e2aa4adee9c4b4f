"""The team deployment in deploy/ (docs/deploy.md) holds together: no Docker daemon runs here, so what can be
checked without one is checked against the app itself — the advisor's command parses with the app's own options,
the environment it sets is what the app reads, each secret it requires is in env.example and kept out of git,
nginx sends requests to the port the advisors listen on, and the copy in docs/deploy.md is the file."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml

from advisor import options
from advisor.config import Settings, is_postgres

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE_TEXT = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
ADVISOR = COMPOSE["services"]["advisor"]
NGINX = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
DOC = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
# the variables libpq reads (psycopg connects through it)
LIBPQ = {"PGPASSWORD", "PGPASSFILE", "PGSSLMODE", "PGHOST", "PGUSER", "PGDATABASE"}


def _serve_args() -> argparse.Namespace:
    command = ADVISOR["command"]
    assert command[:2] == ["advisor", "serve"]
    parser = argparse.ArgumentParser()
    options.add_serve_options(parser)
    return parser.parse_args(command[2:])


def _resolved_environment() -> dict[str, str]:
    """The advisor's environment with each ${VAR:?...} replaced by a placeholder, as compose would with a .env."""
    return {k: re.sub(r"\$\{(\w+)[^}]*\}", r"<\1>", str(v)) for k, v in ADVISOR["environment"].items()}


def test_the_advisor_command_parses_with_the_apps_options_and_runs_several_workers():
    args = _serve_args()
    assert args.workers >= 2 and args.host == "0.0.0.0"
    assert f":{args.port}" in NGINX  # nginx proxies to the port the advisors listen on


def test_every_variable_the_advisor_is_given_is_one_the_app_reads(monkeypatch):
    env = _resolved_environment()
    app_reads = set(re.findall(r'_env\("(ADVISOR_\w+)"\)', (ROOT / "advisor" / "config.py").read_text()))
    app_reads |= {"ADVISOR_AUTH", "ADVISOR_ALLOWED_HOSTS"}  # read by app.serve
    for name in env:
        assert name in app_reads or name in LIBPQ, f"{name} is set in compose.yaml but nothing reads it"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.driver == "openai" and settings.openai_base_url == "http://vllm:8000/v1"
    assert is_postgres(settings.db) and "@db:5432/" in settings.db
    assert ":" not in settings.db.split("://", 1)[1].split("@", 1)[0], "the password belongs in PGPASSWORD, not the URL"
    # the model the advisors ask for is the one vLLM serves
    served = next(a.split("=", 1)[1] for a in COMPOSE["services"]["vllm"]["command"] if a.startswith("--model="))
    assert settings.served_model == served


def test_each_required_secret_is_in_env_example_and_the_env_file_is_not_committed():
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE_TEXT))
    assert {"POSTGRES_PASSWORD", "VLLM_API_KEY", "ADVISOR_AUTH"} <= required
    example = (DEPLOY / "env.example").read_text()
    listed = set(re.findall(r"^(\w+)=$", example, re.M))  # listed, with no value filled in
    assert required <= listed
    assert "/deploy/.env" in (ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/.env" in (ROOT / ".dockerignore").read_text()
    for secret in required:  # each secret reaches the services only through the environment, never a literal
        assert not re.search(rf"^\s*{secret}: [^$\s]", COMPOSE_TEXT, re.M)


def test_every_service_has_a_health_check_and_starts_after_what_it_needs():
    services = COMPOSE["services"]
    assert set(services) == {"proxy", "advisor", "db", "vllm"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert "/healthz" in " ".join(ADVISOR["healthcheck"]["test"]) and "/healthz" in (DEPLOY / "Dockerfile").read_text()
    assert ADVISOR["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "vllm": {"condition": "service_healthy"},
    }
    assert services["proxy"]["depends_on"] == {"advisor": {"condition": "service_healthy"}}
    assert list(services["proxy"]["ports"]) == ["80:80"]
    for private in ("advisor", "db", "vllm"):  # only the proxy is published
        assert "ports" not in services[private]


def test_nginx_needs_no_sticky_sessions_and_streams():
    assert "upstream advisor" in NGINX and "proxy_pass http://advisor;" in NGINX
    assert "ip_hash" not in NGINX.split("#")[0] and "sticky" not in re.sub(r"#.*", "", NGINX)
    assert "proxy_buffering off;" in NGINX  # server-sent events pass through as written
    assert (
        re.search(r"proxy_read_timeout (\d+)s;", NGINX)
        and int(
            re.search(r"proxy_read_timeout (\d+)s;", NGINX).group(1)  # type: ignore[union-attr]
        )
        >= Settings().timeout_s
    )


def test_the_vllm_service_can_drive_the_advisors_tool_calls():
    command = COMPOSE["services"]["vllm"]["command"]
    assert "--enable-auto-tool-choice" in command and any(a.startswith("--tool-call-parser=") for a in command)
    assert COMPOSE["services"]["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"


def test_the_doc_shows_the_compose_file_as_it_is():
    block = re.search(r"```yaml\n(.*?)```", DOC, re.S)
    assert block is not None
    shown = [line for line in block.group(1).splitlines() if not line.startswith("#")]
    actual = [line for line in COMPOSE_TEXT.splitlines() if not line.startswith("#")]
    assert shown == actual
    for file in ("compose.yaml", "nginx.conf", "Dockerfile", "env.example"):
        assert (DEPLOY / file).exists() and file in DOC
