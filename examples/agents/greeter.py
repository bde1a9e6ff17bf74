"""Greeter: answers on http://127.0.0.1:8701/ with a greeting from lib.shared.

Try: curl -s localhost:8701/   then edit lib/shared.py (GREETING) and curl again: the greeting
changes, the pid changes, and the request count carries on (meshdev.preserve).
"""

import os
import time
from collections import Counter

from _http import serve
from lib.shared import banner

import meshdev

PORT = int(os.environ.get("GREETER_PORT", "8701"))


# Survives restarts: the number of requests answered by every greeter process so far.
hits = meshdev.preserve("hits", Counter)


def answer() -> dict[str, object]:
    hits[os.getpid()] += 1
    return {
        "agent": "greeter",
        "pid": os.getpid(),
        "says": banner("greeter"),
        "requests_answered": sum(hits.values()),
        "processes_so_far": len(hits),
    }


if __name__ == "__main__":
    serve(PORT, answer)
    print(f"serving on http://127.0.0.1:{PORT}/ (pid {os.getpid()})")
    meshdev.ready()
    while True:
        time.sleep(3600)
