"""How meshdev's `--help` reads, whatever typer's version: mixins for its command classes.

typer 0.29 prints `<bool>` after every flag (a flag takes no value) and a required argument as
`{file}`; the README writes `FILE [PATH]...`. These take effect through cli.py's own command and
group classes, so this module needs neither typer nor click.
"""

from __future__ import annotations

from typing import Any


class QuietFlags:
    """No type or value shown after an on/off option."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False):
                param.metavar = ""
        return params


class ReadableUsage(QuietFlags):
    """`Usage: meshdev debug why [OPTIONS] FILE [PATH]...`."""

    options_metavar: str | None

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = param.metavar or str(param.name).upper()
                shown = name if param.required else f"[{name}]"
                pieces.append(shown + ("..." if param.nargs != 1 else ""))
        return pieces
