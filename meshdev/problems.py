"""A user-facing problem with its location, the error that carries several of them, and the exit
codes: 0 ok, 1 runtime failure, 2 usage or configuration error, 128 + N after signal N (130 for
SIGINT, 143 for SIGTERM) with every agent stopped."""

from __future__ import annotations

from dataclasses import dataclass

OK = 0
FAILURE = 1
USAGE = 2

MAX_SHOWN = 20  # problems told at once: a 50,000-key file must not print 50,000 lines
_MAX_TEXT = 80  # characters of a user's value or key quoted in a message


def shorten(text: str, limit: int = _MAX_TEXT) -> str:
    """`text`, cut with an ellipsis past `limit` characters (a message quotes what it must)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input, said where it is and what to do."""

    source: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        key = f" {shorten(self.key)}:" if self.key else ""
        return f"{where}:{key} {shorten(self.message, 1000)}"


class UsageError(Exception):
    """Bad input from the user: reported as one readable message per problem, exit code 2."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        told = list(problems[:MAX_SHOWN])
        if len(problems) > MAX_SHOWN:
            more = len(problems) - MAX_SHOWN
            told.append(Problem(told[-1].source, None, "", f"and {more:,} more problems"))
        self.problems = tuple(told)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, source: str, message: str, key: str = "") -> UsageError:
        return cls([Problem(source, None, key, message)])
