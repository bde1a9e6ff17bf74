"""Used by greeter and counter: edit it and exactly those two restart, once each."""

from lib.format import stamp

GREETING = "hello"


def banner(name: str) -> str:
    return f"{stamp()} {name}: {GREETING}"
