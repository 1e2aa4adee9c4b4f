"""A local fake OpenAI-compatible server whose answers stream slowly: one word every ``delay_s`` seconds. It stands
for a real model behind the ``openai`` driver in the tests and benchmarks of dropped streams (nothing leaves the
machine). It accepts any credentials, ignores tools, and counts the answers it started and finished.

    with SlowOpenAI(delay_s=0.2, words=30) as upstream:      # in a test: a thread of this process
        ... --driver openai --base-url {upstream.url} ...

    python -m tests.slow_openai PORT [DELAY_S] [WORDS]        # as a process
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlowOpenAI:
    def __init__(self, delay_s: float = 0.2, words: int = 30, port: int | None = None, word: str = "slowly"):
        self.delay_s, self.words, self.word = delay_s, words, word
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.started = 0  # answers begun
        self.finished = 0  # answers streamed to their end
        self._server = None
        self._thread: threading.Thread | None = None

    def app(self):
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, StreamingResponse
        from starlette.routing import Route

        async def completions(request: Request):
            body = await request.json()
            self.started += 1
            text = " ".join([self.word] * self.words)
            if not body.get("stream"):
                await asyncio.sleep(self.delay_s * self.words)
                self.finished += 1
                return JSONResponse(
                    {
                        "id": "slow",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                        ],
                    }
                )

            def chunk(delta: dict, finish: str | None = None) -> str:
                return (
                    "data: "
                    + json.dumps(
                        {
                            "id": "slow",
                            "object": "chat.completion.chunk",
                            "created": 0,
                            "model": body.get("model"),
                            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                        }
                    )
                    + "\n\n"
                )

            async def events():
                yield chunk({"role": "assistant", "content": ""})
                for i in range(self.words):
                    await asyncio.sleep(self.delay_s)
                    yield chunk({"content": ("" if i == 0 else " ") + self.word})
                yield chunk({}, "stop")
                yield "data: [DONE]\n\n"
                self.finished += 1

            return StreamingResponse(events(), media_type="text/event-stream")

        async def models(request: Request):
            return JSONResponse({"object": "list", "data": [{"id": "slow", "object": "model"}]})

        return Starlette(
            routes=[Route("/v1/chat/completions", completions, methods=["POST"]), Route("/v1/models", models)]
        )

    def __enter__(self) -> SlowOpenAI:
        import uvicorn

        self._server = uvicorn.Server(
            uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="critical")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.time() + 20
        while not self._server.started and time.time() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


if __name__ == "__main__":
    import uvicorn

    port, delay, words = (
        int(sys.argv[1]),
        float(sys.argv[2]) if len(sys.argv) > 2 else 0.2,
        int(sys.argv[3]) if len(sys.argv) > 3 else 30,
    )
    uvicorn.run(SlowOpenAI(delay, words, port).app(), host="127.0.0.1", port=port, log_level="warning")
