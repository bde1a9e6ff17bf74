"""meshdev: run every agent of a project, watch it, restart only the agents whose code changed.

Inside an agent, `import meshdev` gives the in-agent API; it is a plain in-memory no-op when the
agent runs without meshdev.
"""

from meshdev._version import __version__
from meshdev.runtime.api import changes, on_refresh, preserve, ready, state

__all__ = ["__version__", "changes", "on_refresh", "preserve", "ready", "state"]
