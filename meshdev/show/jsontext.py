"""`debug … --json` as text, without rich: the light entry point writes it too."""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any

__all__ = ["json_text"]


def json_text(data: dict[str, Any]) -> str:
    """`--json`: what json.dumps writes, with each list entry on a line of its own. Written
    straight, not through rich, which would scan a 60,000-file answer for markup and wrap it; and
    not with json's `indent`, which falls back to its pure-Python encoder."""
    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = _files_json(value) if key == "files" else [json.dumps(v) for v in value]
            lines.append(f"  {json.dumps(key)}: [\n    " + ",\n    ".join(items) + "\n  ]")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


_FILE_FIELDS = ["path", "verdict", "decided_by", "pattern", "agents"]


def _files_json(files: list[dict[str, Any]]) -> list[str]:
    """json.dumps() of each entry of `debug watches`. Entries differ mostly in their path, so
    the rest of each distinct entry is encoded once: one json.dumps() call per file would cost
    more than deciding the file."""
    rests: dict[tuple[Any, ...], str] = {}
    found = []
    for entry in files:
        agents = entry.get("agents")
        if len(entry) != len(_FILE_FIELDS) or not isinstance(agents, list):
            found.append(json.dumps(entry))
            continue
        key = (entry["verdict"], entry["decided_by"], entry["pattern"], *agents)
        rest = rests.get(key)
        if rest is None:
            if list(entry) != _FILE_FIELDS:
                found.append(json.dumps(entry))
                continue
            rest = rests[key] = json.dumps({k: entry[k] for k in _FILE_FIELDS[1:]})[1:]
        found.append(f'{{"path": {encode_basestring_ascii(entry["path"])}, {rest}')
    return found
