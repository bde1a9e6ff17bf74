"""Tools whose functions live in a refreshed module. The server registers them again after each
refresh (see `rebind` in server.py), so a new, renamed or re-typed tool here is listed at once:
meshdev's front tells the client with notifications/tools/list_changed."""


def opening_hours() -> str:
    """When the shop is open."""
    return "9:00-18:00"


TOOLS = [opening_hours]  # add a function and list it here
