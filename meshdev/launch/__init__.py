"""How meshdev is launched: the console script's light entry point, and `meshdev start` itself,
whichever parser read its command line (this one's own for the common case, typer's otherwise)."""
