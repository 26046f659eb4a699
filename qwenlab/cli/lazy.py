"""A click group that imports a command's module only when the command is used.

Click's documented pattern ("Lazily Loading Subcommands", the `LazyGroup`): the group knows
each command as "module:attribute" and imports that module when the command is invoked or its
own help is shown. One step further than the docs: the group's `--help` lists every command
with a short help given at registration, so listing the commands imports none of them (the
views alone bring matplotlib, pandas and ipywidgets: 0.3 s and more).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Mapping

import click

__all__ = ["LazyCommand", "LazyGroup"]


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives ("qwenlab.cli.logs:logs_command") and the line the group's help
    shows for it (the first sentence of the command's docstring; tests/cli/test_cli.py checks)."""

    target: str
    short_help: str


class LazyGroup(click.Group):
    """A click.Group whose commands are imported on first use (see the module docstring)."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, LazyCommand] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, LazyCommand] = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            return self.load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def load(self, cmd_name: str) -> click.Command:
        """Import the command `cmd_name` (its module is imported once; Python caches it)."""
        module_name, _, attribute = self.lazy_commands[cmd_name].target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name].target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The Commands section of the group's help, from the registered short helps: no import."""
        names = [n for n in self.list_commands(ctx) if n in self.lazy_commands or self._shown(ctx, n)]
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)  # as click.Group.format_commands
        rows = []
        for name in names:
            if name in self.lazy_commands:
                text = click.Command(name, help=self.lazy_commands[name].short_help).get_short_help_str(limit)
            else:
                command = super().get_command(ctx, name)
                text = command.get_short_help_str(limit) if command is not None else ""
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _shown(self, ctx: click.Context, name: str) -> bool:
        command = super().get_command(ctx, name)
        return command is not None and not command.hidden
