"""The HTTP edge: one router per concern, each in a file named after its routes. They only translate: requests into
calls on the core (tools, the Advisor, exercises, views) and the core's results, turn events and exceptions into
JSON, reports and server-sent events. ``app.create_app`` wires them together with the browser UI and MCP.

    GET  /healthz                                  health.py
    GET  /api/tools, POST /api/tools/{name}        tools.py
    GET  /api/threads/{id}[/report]                threads.py
    POST /api/exercises/{number}                   exercises.py
    GET  /api/views/{name}                         views.py
    GET  /v1/models, POST /v1/chat/completions     openai_compatible.py

errors.py maps every exception to its status and error body; middleware.py holds the body limit and credentials.
"""
