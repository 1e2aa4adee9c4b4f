"""`python app.py [options]`: serve the Open LLM Advisor, the same as `advisor serve` (the server is advisor/server.py).

python app.py                 # http://127.0.0.1:7860: the browser app, the HTTP API, /v1 and MCP
python app.py --help
"""

import sys

from advisor.server import main

if __name__ == "__main__":
    sys.exit(main())
