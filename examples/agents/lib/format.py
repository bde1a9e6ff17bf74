"""Imported by lib.shared only: an edit here still restarts the agents that import lib.shared."""

import time


def stamp() -> str:
    return time.strftime("%H:%M:%S")
