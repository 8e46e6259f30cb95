"""Running a parsed script (shell.py's tree): the shell's state (variables, files, `$?`, `set -e`),
its output as timed lines, its clock, the tree's control flow and the expansion of words.

What a command name runs (the built-ins, a nested shell, the image's own programs) is
commands.py's, which extends `Interpreter` with `command`. A run stops by raising one of the
exceptions below; programs.run turns them into an Outcome.
"""
from __future__ import annotations

import math
import re
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from .shell import Unsupported, Word, matching, may_end, mutates, parse

if TYPE_CHECKING:
    from .programs import Context

MAX_LINES = 10_000  # what a log keeps: the kubelet rotates a container's log at 10 MiB (containerLogMaxSize)
MAX_STEPS = 50_000  # commands run per interpretation before the simulator calls a loop endless


class Exit(Exception):
    """The program exits with `code`."""
    def __init__(self, code: int) -> None:
        self.code = code


class Forever(Exception):
    """The program blocks from here on (a server, sleep infinity, what the simulator does not run)."""


class Past(Exception):
    """The program went on past the time asked about."""


class Break(Exception):
    """`break` leaves the loop around it."""


class Interpreter:
    """Runs a parsed script for one container's program, from its Context up to `until` seconds."""

    def __init__(self, ctx: Context, until: float, wall: Callable[[float], datetime]) -> None:
        self.ctx, self.until, self.wall = ctx, until, wall
        self.vars: dict[str, str] = dict(ctx.env)
        self.files: dict[str, str] = dict(ctx.files)
        self.changes: list[tuple[float, str, str | None]] = []  # (when, path, content; None: removed)
        self.t = 0.0
        self.lines: list[tuple[float, str]] = []
        self.status: int | None = None
        self.listens: float | None = None
        self.fails: float | None = None  # when its server's health check starts failing (catalog.Program.fails_after)
        self.capture: list[list[str]] = []  # output taken by $( ) or a redirection
        self.positional: list[str] = []
        self.errexit = self.xtrace = False
        self.steps = 0
        self.busybox = ctx.image is None or ctx.image.name in ("busybox", "alpine", "registry.k8s.io/busybox")
        self.pending = ""  # echo -n's text, waiting for the rest of its line
        self.exported: set[str] = set()

    # -- output
    def say(self, text: str) -> None:
        """One or more lines printed now (a trailing newline ends the last)."""
        if self.capture:
            self.capture[-1].append(text)
            return
        if self.t > self.until:
            raise Past()
        for line in text.split("\n"):
            self.lines.append((self.t, line))
        if len(self.lines) > 2 * MAX_LINES:
            del self.lines[:-MAX_LINES]

    def emit(self, text: str, newline: bool = True) -> None:
        """Output that may lack its final newline (echo -n, printf): it joins the next output's line."""
        text = self.pending + text
        if not newline:
            self.pending = text
            return
        self.pending = ""
        self.say(text)

    def write_file(self, path: str, content: str | None) -> None:
        """The container's files change now (None: removed); kept with the time, so what a probe's
        `cat` finds later can be read back (programs.files_at)."""
        if content is None:
            self.files.pop(path, None)
        else:
            self.files[path] = content
        self.changes.append((self.t, path, content))

    def honest(self, what: str) -> None:
        """What the simulator does not run: say so, then the container just stays running."""
        self.capture.clear()
        self.say(f"labkit: the simulator does not run {what}; this container now stays running, "
                 "printing nothing (on a real cluster it would run it)")
        raise Forever()

    def sleep(self, seconds: float) -> None:
        if seconds == math.inf:
            raise Forever()
        self.t += seconds
        if self.t > self.until:
            raise Past()

    def script(self, text: str) -> int:
        try:
            tree = parse(text)
        except Unsupported as reason:
            self.honest(f"{reason} in {text.strip()!r}")
        return self.node(tree)

    def command(self, argv: list[str], text: str) -> int:
        """Runs one command, `text` as written (commands.py)."""
        raise NotImplementedError

    # -- the script's tree
    def node(self, node: tuple) -> int:
        kind = node[0]
        if kind == "seq":
            status = self.status if self.status is not None else 0
            for item in node[1]:
                status = self.node(item)
            return status
        if kind == "and":
            status = self.node_cond(node[1])
            return self.node(node[2]) if status == 0 else status
        if kind == "or":
            status = self.node_cond(node[1])
            return self.node(node[2]) if status != 0 else status
        if kind == "not":
            status = 0 if self.node_cond(node[1]) else 1
            self.status = status
            return status
        if kind == "if":
            for cond, body in node[1]:
                if self.node_cond(cond) == 0:
                    return self.node(body)
            return self.node(node[2]) if node[2] is not None else 0
        if kind == "while":
            return self.loop(node)
        if kind == "for":
            status = 0
            values = [v for w in node[2] for v in self.expand_split(w)] if node[2] else list(self.positional)
            try:
                for value in values:
                    self.vars[node[1]] = value
                    status = self.node(node[3])
            except Break:
                pass
            return status
        return self.simple(node)

    def node_cond(self, node: tuple) -> int:
        """A condition: a failure there does not stop a `set -e` script."""
        errexit, self.errexit = self.errexit, False
        try:
            return self.node(node)
        finally:
            self.errexit = errexit

    def loop(self, node: tuple) -> int:
        _, cond, body, negate = node
        always = not negate and len(cond[1]) == 1 and cond[1][0][0] == "cmd" and not cond[1][0][1] and \
            [w.literal for w in cond[1][0][2]] in (["true"], [":"])
        steady = always and not mutates(body)
        endless = always and not may_end(body) and not self.errexit
        status = 0
        try:
            while True:
                if not always and (self.node_cond(cond) == 0) == negate:
                    return status
                start, count = self.t, len(self.lines)
                status = self.node(body)
                if self.t == start:
                    self.steps += 1
                    if steady:
                        if len(self.lines) > count or self.capture:
                            self.honest("a loop that prints without ever sleeping")
                        raise Forever()  # a busy loop: it spins, silent, until stopped
                    if self.steps > MAX_STEPS:
                        self.honest("a loop this long without sleeping")
                elif endless and self.until == math.inf:
                    raise Forever()  # it sleeps and goes round again, and nothing in it ends it
                if self.t > start and steady:
                    if self.until == math.inf:
                        raise Forever()  # the same again and again: it never ends
                    period = self.t - start
                    skip = math.floor((self.until - self.t) / period) - MAX_LINES
                    if skip > 0:  # far more than a log keeps: the older rounds are rotated away
                        self.t += skip * period
                        self.lines.clear()
        except Break:
            return 0

    def simple(self, node: tuple) -> int:
        _, assigns, words, redirects = node
        self.steps += 1
        if self.steps > MAX_STEPS:
            self.honest("this many commands")
        values = {name: self.expand(word) for name, word in assigns}
        argv = [v for w in words for v in self.expand_split(w)]
        if not argv:
            self.vars.update(values)
            self.status = 0
            return 0
        if self.xtrace:
            self.say("+ " + " ".join(argv))
        saved = {k: self.vars.get(k) for k in values}
        self.vars.update(values)
        target = None  # where stdout goes (stderr, and input, are the log's and empty as they are)
        for op, word in redirects:
            if op in (">", ">>", "1>"):
                target = (op, self.expand(word))
        try:
            if target is not None:
                self.capture.append([])
            try:
                status = self.command(argv, text=" ".join(w.raw() for w in words))
            finally:
                if target is not None:
                    written = "".join(part + "\n" for part in self.capture.pop())
                    op, path = target
                    if path != "/dev/null":
                        self.write_file(path, (self.files.get(path, "") if op == ">>" else "") + written)
        finally:
            for k, v in saved.items():
                if v is None:
                    self.vars.pop(k, None)
                else:
                    self.vars[k] = v
        self.status = status
        if status and self.errexit:
            raise Exit(status)
        return status

    # -- expansion
    def expand(self, word: Word) -> str:
        return "".join(text if kind == "lit" else self.substitute(text) for kind, text in word.parts)

    def expand_split(self, word: Word) -> list[str]:
        """A word's fields: an unquoted expansion splits on blanks, as the shell does."""
        if all(kind == "bare" for kind, _ in word.parts) and any("$" in t or "`" in t for _, t in word.parts):
            return self.expand(word).split()
        return [self.expand(word)]

    def substitute(self, text: str) -> str:
        out, i = "", 0
        while i < len(text):
            c = text[i]
            if c == "\\" and i + 1 < len(text) and text[i + 1] in "$`":
                out += text[i + 1]
                i += 2
            elif text.startswith("$((", i):
                close = text.find("))", i)
                if close < 0:
                    self.honest("an unterminated $((")
                out += str(self.arithmetic(text[i + 3:close]))
                i = close + 2
            elif text.startswith("$(", i):
                close = matching(text, i + 1)
                out += self.command_output(text[i + 2:close])
                i = close + 1
            elif c == "`":
                close = text.find("`", i + 1)
                out += self.command_output(text[i + 1:close if close > 0 else len(text)])
                i = (close if close > 0 else len(text)) + 1
            elif text.startswith("${", i):
                close = text.find("}", i)
                inner = text[i + 2:close]
                name, op, default = re.match(r"([A-Za-z_][A-Za-z0-9_]*|[0-9?#@$])(:?[-=+]?)(.*)", inner).groups() \
                    if re.match(r"[A-Za-z_0-9?#@$]", inner) else (inner, "", "")
                value = self.variable(name)
                if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
                    value = self.substitute(default)
                elif op and op not in (":-", "-"):
                    self.honest(f"the expansion ${{{inner}}}")
                out += value or ""
                i = close + 1
            elif c == "$" and i + 1 < len(text):
                m = re.match(r"[A-Za-z_][A-Za-z0-9_]*|[0-9?#@$]", text[i + 1:])
                if m:
                    out += self.variable(m.group(0)) or ""
                    i += 1 + len(m.group(0))
                else:
                    out += c
                    i += 1
            else:
                out += c
                i += 1
        return out

    def variable(self, name: str) -> str | None:
        if name == "?":
            return str(self.status or 0)
        if name == "$":
            return "1"
        if name == "#":
            return str(len(self.positional))
        if name == "@":
            return " ".join(self.positional)
        if name.isdigit():
            index = int(name)
            return "sh" if index == 0 else (self.positional[index - 1] if index <= len(self.positional) else None)
        return self.vars.get(name)

    def arithmetic(self, expr: str) -> int:
        expr = re.sub(r"\$?\b([A-Za-z_][A-Za-z0-9_]*)\b",
                      lambda m: str(int(self.vars.get(m.group(1)) or 0) if (self.vars.get(m.group(1)) or "0")
                                    .lstrip("-").isdigit() else 0), self.substitute(expr))
        if not re.fullmatch(r"[0-9+\-*/%() <>=!&|]*", expr):
            self.honest(f"the arithmetic $(({expr}))")
        try:
            return int(eval(expr.replace("/", "//").replace("&&", " and ").replace("||", " or ")
                            .replace("!", " not ").replace(" not =", "!="), {"__builtins__": {}}))
        except Exception:
            self.honest(f"the arithmetic $(({expr}))")
        return 0

    def command_output(self, text: str) -> str:
        self.capture.append([])
        status = self.status
        try:
            self.node(parse(text))
        except Unsupported as reason:
            self.capture.pop()
            self.honest(f"{reason} in $({text})")
        except Exit as done:
            status = done.code
        output = "\n".join(self.capture.pop()) if self.capture else ""
        self.status = status
        return output.rstrip("\n")

