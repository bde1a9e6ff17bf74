"""Greeter: answers on http://127.0.0.1:8701/ with a greeting from lib.shared.

Try: curl -s localhost:8701/   then edit lib/shared.py (GREETING) and curl again.
"""

import os
import time

from _http import serve
from lib.shared import banner

import meshdev

PORT = int(os.environ.get("GREETER_PORT", "8701"))


def answer() -> dict[str, object]:
    return {"agent": "greeter", "pid": os.getpid(), "says": banner("greeter")}


if __name__ == "__main__":
    serve(PORT, answer)
    print(f"serving on http://127.0.0.1:{PORT}/ (pid {os.getpid()})")
    meshdev.ready()
    while True:
        time.sleep(3600)
