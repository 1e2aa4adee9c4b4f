"""A reverse proxy without sticky sessions, for tests/test_postgres.py: each request goes to the next upstream in turn
(round robin), as a load balancer with no session affinity does. It records which upstream served which request, so
a test can show that one browser page was answered by several replicas.

    with RoundRobinProxy(["http://127.0.0.1:8001", "http://127.0.0.1:8002"]) as proxy:
        proxy.url  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import itertools
import socket
import threading
import time

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


class RoundRobinProxy:
    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.served: list[tuple[str, str, int]] = []  # (method, path, index of the upstream)
        self._next = itertools.cycle(range(len(upstreams)))
        self._lock = threading.Lock()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST", "PUT", "DELETE"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    async def _forward(self, request: Request) -> StreamingResponse:
        with self._lock:
            index = next(self._next)
            self.served.append((request.method, request.url.path, index))
        client = httpx.AsyncClient(base_url=self.upstreams[index], timeout=120)  # a new connection every request
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = await client.send(
            client.build_request(
                request.method,
                request.url.path,
                params=request.query_params,
                headers=headers,
                content=await request.body(),
            ),
            stream=True,
        )

        async def close() -> None:
            await upstream.aclose()
            await client.aclose()

        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers={k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP},
            background=BackgroundTask(close),
        )

    def __enter__(self) -> RoundRobinProxy:
        self._thread.start()
        deadline = time.time() + 30
        while not self._server.started and time.time() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(10)
