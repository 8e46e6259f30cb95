"""A tool's commands, each declared where it is handled.

    COMMANDS = Registry("docker", HELP)

    @COMMANDS.command("node ls", "[OPTIONS]", "List nodes in the swarm", Flag("quiet", "q", "bool"),
                      aliases=("node list",))
    def node_ls(ctx, p): ...

A registry maps a command's words to its `Command` (parse.py), the handler included; the
flags every command of the tool takes (`--help`) are added to each.
"""
from __future__ import annotations

from typing import Callable

from .parse import Command, Flag


class Registry(dict[tuple[str, ...], Command]):
    def __init__(self, tool: str, *common: Flag) -> None:
        super().__init__()
        self.tool = tool
        self.common = common

    def command(self, path: str, usage: str, summary: str, *flags: Flag, min_args: int = 0,
                max_args: int | None = None, interspersed: bool = True,
                aliases: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
        """Declare the command `path` ("service ls") handled by the decorated function."""
        def register(run: Callable) -> Callable:
            cmd = Command(self.tool, tuple(path.split()), usage, summary, tuple(flags) + self.common, min_args,
                          max_args, run, interspersed)
            for words in (path, *aliases):
                self[tuple(words.split())] = cmd
            return run
        return register
