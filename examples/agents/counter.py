"""Counter: prints a line with a counter every 2 seconds, using lib.shared for the banner.

Edit lib/shared.py and watch the counter (and the greeter) restart; edit counter.py and only
this one restarts.
"""

import os
import time

from lib.shared import banner

import meshdev

INTERVAL = float(os.environ.get("COUNTER_INTERVAL", "2"))

if __name__ == "__main__":
    count = 0
    meshdev.ready()
    while True:
        count += 1
        print(f"{banner('counter')} #{count}")
        time.sleep(INTERVAL)
