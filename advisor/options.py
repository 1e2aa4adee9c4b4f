"""Command-line options shared by `advisor` (advisor/cli.py) and `python app.py`: which driver and model drive the
conversation, where conversations are stored, and where the server listens; and the Settings they make."""

from __future__ import annotations

import argparse

from advisor.config import Settings


def add_agent_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--driver",
        choices=["auto", "hf", "openai", "offline"],
        default=None,
        help="who drives the conversation: a local LLM (hf), an OpenAI-compatible server (openai), or "
        "no LLM (offline). Default auto: hf where CUDA and the weights are available, else offline",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="hf: Hub id, local folder or .gguf file (default Qwen/Qwen3-8B); openai: the served model name",
    )
    parser.add_argument(
        "--llm-weights",
        "--quantization",  # its older name
        dest="llm_weights",
        choices=["auto", "4bit", "8bit", "none"],
        default=None,
        help="hf driver weights (default auto: 4bit NF4 on a GPU, bf16 on the CPU; GGUF files load dequantized)",
    )
    parser.add_argument(
        "--device",
        choices=["auto", "cuda", "cpu"],
        default=None,
        help="hf driver: where the model runs (default auto: a CUDA GPU; the CPU only when asked)",
    )
    parser.add_argument(
        "--threads", type=_positive, default=None, help="hf driver on the CPU: torch threads (default 1)"
    )
    parser.add_argument("--base-url", default=None, help="openai driver: server URL, e.g. http://localhost:8000/v1")
    parser.add_argument(
        "--api-key",
        default=None,
        type=_no_secret("--api-key", "set ADVISOR_OPENAI_API_KEY"),
        help="not taken here (every local user sees the command line): set ADVISOR_OPENAI_API_KEY",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="where conversations are stored: a SQLite file (default: in your user data folder), ':memory:' to keep "
        "nothing, or postgresql://USER@HOST/DB for several workers and replicas (password in PGPASSWORD or "
        "~/.pgpass rather than here)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log which driver was chosen and why")


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default localhost only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument(
        "--auth",
        default=None,
        type=_no_secret("--auth", "set ADVISOR_AUTH=USER:PASSWORD, or ADVISOR_AUTH_FILE=PATH of a file holding it"),
        help="not taken here: a password on the command line is visible to every local user (ps). Set ADVISOR_AUTH "
        "(USER:PASSWORD) or ADVISOR_AUTH_FILE, or use --users-file; one of them is needed to bind beyond localhost",
    )
    parser.add_argument(
        "--users-file",
        default=None,
        help="several users, each with their own conversations: a file of NAME:ARGON2-HASH lines made with "
        "`advisor users add` (or ADVISOR_USERS_FILE); clients send HTTP Basic NAME:PASSWORD",
    )
    parser.add_argument(
        "--user-header",
        default=None,
        help="a trusted reverse proxy signs users in and names them in this header, e.g. X-Remote-User (or "
        "ADVISOR_USER_HEADER); only when nothing but the proxy can reach the server",
    )
    parser.add_argument(
        "--allowed-hosts",
        default=None,
        help="host names clients reach the server by, commas between (or ADVISOR_ALLOWED_HOSTS); a request naming "
        "another Host is refused. Default: the --host address and localhost; behind a proxy, its public name",
    )
    parser.add_argument("--insecure", action="store_true", help="allow binding beyond localhost without --auth")
    parser.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="worker processes on this port (default 1); more than one needs --db postgresql://",
    )
    parser.add_argument(
        "--stateless-ui",
        action="store_true",
        help="answer each browser event in one request (no token streaming) so that replicas behind a proxy need "
        "no sticky sessions; implied by --workers > 1 (docs/deploy.md)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=None,
        help="chat turns the browser UI runs at once, across its users (default 40, or ADVISOR_CONCURRENCY); "
        "more wait in its queue",
    )
    add_agent_options(parser)


def _no_secret(option: str, instead: str):
    """An option's type that refuses any value: a secret on the command line is visible to every local user."""

    def refuse(text: str) -> str:
        raise argparse.ArgumentTypeError(
            f"secrets are not taken on the command line (every local user sees it, in ps): {instead}"
        )

    refuse.__name__ = option
    return refuse


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def serve_arguments(args: argparse.Namespace) -> dict:
    """advisor.server.serve's arguments from the serve options (`advisor serve` and `python app.py` alike)."""
    return {
        "host": args.host,
        "port": args.port,
        "settings": settings(args),
        "auth": args.auth,
        "insecure": args.insecure,
        "workers": args.workers,
        "stateless_ui": args.stateless_ui,
        "allowed_hosts": args.allowed_hosts,
        "users_file": args.users_file,
        "user_header": args.user_header,
    }


def settings(args: argparse.Namespace) -> Settings:
    """Settings from the options given, the ADVISOR_* environment for the rest."""
    return Settings.from_env(
        driver=getattr(args, "driver", None),
        model=getattr(args, "model", None),
        llm_weights=getattr(args, "llm_weights", None),
        device=getattr(args, "device", None),
        threads=getattr(args, "threads", None),
        openai_base_url=getattr(args, "base_url", None),
        openai_api_key=getattr(args, "api_key", None),
        db=getattr(args, "db", None),
        concurrency=getattr(args, "concurrency", None),
    )
