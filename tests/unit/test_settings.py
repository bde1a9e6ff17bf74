from __future__ import annotations

from pathlib import Path

import pytest

from meshdev.problems import UsageError
from meshdev.project.config import FileConfig
from meshdev.project.settings import Flags, resolve

FILE = FileConfig(path=Path("/p/.meshwatch"), root=Path("/p"), values={"reload_delay": 300})


def test_defaults_without_anything() -> None:
    settings = resolve(FileConfig(path=None, root=Path("/p")), {}, Flags())
    assert settings.reload_delay_ms == 500 and settings.hot_reload and settings.preserve_state
    assert settings.watch_extensions == (".py",) and settings.force_polling is None


def test_flag_beats_environment_beats_file_beats_default() -> None:
    assert resolve(FILE, {}, Flags()).reload_delay_ms == 300
    assert resolve(FILE, {"MESHDEV_RELOAD_DELAY": "200"}, Flags()).reload_delay_ms == 200
    assert (
        resolve(FILE, {"MESHDEV_RELOAD_DELAY": "200"}, Flags(reload_delay=100)).reload_delay_ms
        == 100
    )


def test_mcp_mesh_aliases_and_their_rank() -> None:
    assert resolve(FILE, {"MCP_MESH_RELOAD_DELAY": "250"}, Flags()).reload_delay_ms == 250
    env = {"MCP_MESH_RELOAD_DELAY": "250", "MESHDEV_RELOAD_DELAY": "260"}
    assert resolve(FILE, env, Flags()).reload_delay_ms == 260
    assert resolve(FILE, {"MCP_MESH_ENABLE_HOT_RELOAD": "false"}, Flags()).hot_reload is False
    assert resolve(FILE, {"MCP_MESH_PRESERVE_STATE": "no"}, Flags()).preserve_state is False
    assert resolve(FILE, {"MCP_MESH_WATCH_EXTENSIONS": "py, .yaml"}, Flags()).watch_extensions == (
        ".py",
        ".yaml",
    )


def test_bad_environment_values_name_the_variable() -> None:
    with pytest.raises(UsageError) as caught:
        resolve(
            FILE, {"MESHDEV_RELOAD_DELAY": "soon", "MCP_MESH_FORCE_POLLING": "perhaps"}, Flags()
        )
    text = str(caught.value)
    assert (
        "MESHDEV_RELOAD_DELAY: must be a whole number of milliseconds from 0 to 60000 "
        "(got 'soon')" in text
    )
    assert "MCP_MESH_FORCE_POLLING: must be true or false (got 'perhaps')" in text


def test_every_reload_strategy_is_accepted_and_others_are_refused() -> None:
    for strategy in ("warm", "restart", "refresh", "REFRESH"):
        env = {"MCP_MESH_RELOAD_STRATEGY": strategy}
        assert resolve(FILE, env, Flags()).reload_strategy == strategy.lower()
    with pytest.raises(UsageError, match="must be one of warm, restart, refresh"):
        resolve(FILE, {"MESHDEV_RELOAD_STRATEGY": "swap"}, Flags())


def test_empty_variables_are_ignored() -> None:
    assert resolve(FILE, {"MESHDEV_RELOAD_DELAY": " "}, Flags()).reload_delay_ms == 300
