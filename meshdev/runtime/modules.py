"""At the agent's exit: the modules it imported, for its next start from a warm template
(`meshdev/processes/warm.py`), and a heap frozen so that the tear-down skips collecting it.

Names in import order (`sys.modules` keeps it), without the project's modules — which are what
changes between starts — nor meshdev's own or `__main__`.
"""

from __future__ import annotations

import os
import sys


def at_exit(record: str, root: str, script: str) -> None:
    """Registered first, so it runs last: after the agent's handlers and the state save."""
    try:
        root = os.path.join(root or os.path.dirname(script), "")
        _record(record, root, os.path.join(os.path.dirname(script), ""))
    except Exception:  # a missing record only means the next start is a fresh one
        pass
    import gc

    # The final collections would walk the whole heap (~100 ms for an MCP server) to free what
    # the process is about to give back anyway. Only garbage in reference cycles is affected: the
    # young generations are still collected; objects reachable from modules are freed as usual.
    gc.collect(1)
    gc.freeze()


def _record(record: str, root: str, folder: str) -> None:
    loaded = list(sys.modules.items())
    names = [name for name, module in loaded if _wanted(name, module, root, folder)]
    temporary = f"{record}.tmp-{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(names) + "\n")
    os.replace(temporary, record)


def _wanted(name: str, module: object, root: str, folder: str) -> bool:
    if name == "__main__" or name.startswith(("meshdev", "__mp_main__")):
        return False
    path = getattr(module, "__file__", None)
    if not isinstance(path, str):
        return True  # built-in, frozen or a namespace package
    full = os.path.abspath(path)
    if full.startswith(folder):
        return False
    inside = full.startswith(root)
    return not inside or "-packages" + os.sep in full  # a virtualenv inside the project is not it
