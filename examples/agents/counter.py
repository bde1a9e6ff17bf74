"""Counter: prints a line with a counter every 2 seconds, using lib.shared for the banner.

The count lives in `meshdev.state`, so it keeps counting across every restart meshdev makes (and
across the next `meshdev start`). Edit lib/shared.py and watch the counter (and the greeter)
restart and carry on; edit counter.py and only this one restarts.
"""

import os
import time

from lib.shared import banner

import meshdev

INTERVAL = float(os.environ.get("COUNTER_INTERVAL", "2"))

if __name__ == "__main__":
    state = meshdev.state
    if "count" in state:
        print(f"carrying on from #{state['count']} (changed: {meshdev.changes() or 'nothing'})")
    meshdev.ready()
    while True:
        state["count"] = state.get("count", 0) + 1
        print(f"{banner('counter')} #{state['count']}")
        time.sleep(INTERVAL)
