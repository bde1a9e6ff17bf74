"""Used by the weather agent only (a plain module, not an agent).

Edit it and the weather agent alone restarts.
"""


def describe(settings: dict[str, str]) -> str:
    city = settings.get("city", "somewhere")
    sky = settings.get("sky", "clear")
    return f"{city}: {sky} skies"
