"""The thread pools that blocking work runs in, one per kind, so that no kind can use up the threads another needs.

AnyIO's default pool (40 threads) serves FastAPI's synchronous routes, which are quick (a tool, a stored thread, a
view). A turn can take as long as its model call, so turns and exercises wait in TURN_THREADS; the health check in
HEALTH_THREADS, so that /healthz answers whatever else is running; the browser UI and MCP in Gradio's own limiter
(advisor/ui). Before, 40 slow turns through Gradio stopped /healthz for the whole model call (issue 29, finding 2).
"""

from __future__ import annotations

import anyio
import anyio.to_thread

# Threads that wait for turns (a model call can take minutes): any number of slow or abandoned turns leaves the other
# pools free. A thread here mostly waits for the turn's own thread (advisor/service.py) to send its next event.
TURN_THREADS = anyio.CapacityLimiter(1000)
# The health check writes to the database (a stalled database makes it wait, up to the driver's timeout).
HEALTH_THREADS = anyio.CapacityLimiter(4)


async def turn_thread(fn, *args):
    """Run a blocking step of a turn in TURN_THREADS; if the request is cancelled (the client went away), stop waiting
    for it at once: the thread finishes on its own and its result is dropped."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=TURN_THREADS, abandon_on_cancel=True)


async def health_thread(fn, *args):
    """Run a blocking part of the health check in HEALTH_THREADS."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=HEALTH_THREADS, abandon_on_cancel=True)
