"""What the running meshdev knows that a debug command cannot: which agents really use a file
(static imports, modules loaded and files opened at run time). `meshdev debug why FILE` asks it
over the control socket with one line, `explain /abs/path`, and gets one JSON line back; the
socket carries any line to the loop, which answers this one here and every other as a command.
"""

from __future__ import annotations

import json
from pathlib import Path

from meshdev.decide.dependencies import Dependencies

VERB = "explain"


def request(path: Path) -> str:
    return f"{VERB} {path}"


def is_request(text: str) -> bool:
    return text.split(maxsplit=1)[:1] == [VERB]


def answer(text: str, deps: Dependencies) -> str:
    """`{"agents": [...]}`: the agents whose dependency picture holds the path now."""
    _, _, raw = text.strip().partition(" ")
    users = sorted(deps.index().agents_of(Path(raw.strip()))) if raw.strip() else []
    return json.dumps({"agents": users})


def read_answer(reply: str | None) -> list[str] | None:
    """The agents from an answer; None when there was none or it is not one (an older meshdev
    answers `unknown command`)."""
    try:
        data = json.loads(reply) if reply else None
    except ValueError:
        return None
    agents = data.get("agents") if isinstance(data, dict) else None
    if not isinstance(agents, list):
        return None
    return [str(a) for a in agents]
