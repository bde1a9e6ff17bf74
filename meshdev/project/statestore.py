"""meshdev's side of agent state: the private folder, the per-project secret, show and clear.

The agents read and write their own state files (they hold the objects); meshdev prepares the
place, hands each agent its file and the secret's path, and lists or removes files on request.
Never unpickles anything.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshdev.runtime import statefile

SUFFIX = ".state"


@dataclass(frozen=True)
class StateStore:
    private_dir: Path  # the project's .meshdev/

    @property
    def folder(self) -> Path:
        return self.private_dir / "state"

    @property
    def secret_path(self) -> Path:
        return self.private_dir / "secret"

    def file_for(self, agent: str) -> Path:
        return self.folder / f"{agent}{SUFFIX}"

    def prepare(self) -> None:
        """Folders 0700 and the secret 0600, created once; permissions repaired if loosened."""
        for folder in (self.private_dir, self.folder):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        try:
            fd = os.open(self.secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            os.chmod(self.secret_path, 0o600)
            return
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(statefile.SECRET_BYTES))

    def set_aside(self, agent: str, why: str) -> Path | None:
        path = self.file_for(agent)
        if not path.exists():
            return None
        return Path(statefile.set_aside(str(path), why))

    def describe(self, agent: str | None = None) -> list[dict[str, Any]]:
        """One entry per state file: its keys (type, size) and age, or why it is unusable."""
        files = sorted(self.folder.glob(f"*{SUFFIX}")) if self.folder.is_dir() else []
        wanted = [f for f in files if agent is None or f.stem == agent]
        return [self._describe_file(path) for path in wanted]

    def _describe_file(self, path: Path) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "agent": path.stem,
            "file": str(path),
            "bytes": path.stat().st_size,
        }
        try:
            header, _ = statefile.verify(path.read_bytes(), self._secret())
        except (statefile.StateError, OSError, ValueError) as exc:
            entry["problem"] = str(exc)
            return entry
        entry["age_seconds"] = round(time.time() - float(header.get("time", 0)), 1)
        entry["python"] = header.get("python")
        entry["keys"] = header.get("keys", {})
        return entry

    def clear(self, agent: str | None = None) -> list[Path]:
        """Remove the state files (and the set-aside ones) of one agent or of all."""
        if not self.folder.is_dir():
            return []
        pattern = f"{agent}{SUFFIX}*" if agent else f"*{SUFFIX}*"
        removed = sorted(self.folder.glob(pattern))
        for path in removed:
            path.unlink()
        return removed

    def _secret(self) -> bytes:
        return statefile.read_secret(str(self.secret_path))
