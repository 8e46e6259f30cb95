"""What a simulated container's program does: a small, honest interpreter of the commands
beginners give containers.

A container runs its `command` and `args` or its image's entrypoint and command (`argv`, see
`container_argv`), with its environment, host name and mounted files. This module works out,
without running anything, what it prints and when, and whether and when it exits:

* a shell (`sh -c '...'`, `bash -c`) with `;`, `&&`, `||`, newlines, `if`/`then`/`else`/`fi`,
  `while`/`until ... do ... done`, `for X in ...; do ... done`, `{ ...; }`, `VAR=value`,
  `$VAR`, `${VAR}`, `${VAR:-default}`, `$?`, `$(...)`, `$((...))` and `>`, `>>`, `2>&1` redirections;
* echo, printf, sleep (seconds, `5m`, `infinity`), printenv, env, date (`+FORMAT`), hostname,
  cat, exit, true, false, `:`, test / `[`, set -e / -x, exec, `tail -f /dev/null`;
* the image's own programs (nginx, redis-server, postgres...): their start-up lines from
  labkit/catalog.py, then they serve until stopped (or refuse, as postgres without a password);
* `sh`, `bash`, `python3` or `node` with nothing to run read an empty stdin (a pod has no
  terminal unless `stdin`/`tty` say so) and exit 0 at once, as on a real cluster.

Anything else (a pipe, a program it does not know) it does not pretend to run: it prints one
line saying what the simulator does not run, and the container then stays running, silent.

The result is an `Outcome`: timed lines (seconds after the container started) and either an exit
(code, seconds) or none (it runs until stopped). Nothing here reads a clock: `wall` turns seconds
after the start into the time the program would print.
"""
from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping

from ... import catalog

MAX_LINES = 10_000  # what a log keeps: the kubelet rotates a container's log at 10 MiB (containerLogMaxSize)
MAX_STEPS = 50_000  # commands run per interpretation before the simulator calls a loop endless


def container_argv(image: catalog.Image | None, command: list | None, args: list | None) -> list[str]:
    """What the container runs: a pod's `command` replaces the image's entrypoint and drops its
    command; `args` alone replace the image's command (the table in kubernetes.io's "Define a
    Command and Arguments for a Container"; the kubelet passes both to the runtime, which merges
    them with the image's config as Docker does)."""
    entrypoint, cmd = (list(image.entrypoint), list(image.cmd)) if image else ([], [])
    if command:
        return [str(c) for c in command] + [str(a) for a in args or []]
    return entrypoint + ([str(a) for a in args] if args else cmd)


@dataclass(frozen=True)
class Context:
    """Everything a program may read."""
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    hostname: str = "pod"
    files: Mapping[str, str] = field(default_factory=dict)  # path -> content (mounted ConfigMaps, Secrets)
    image: catalog.Image | None = None
    version: str = ""
    ip: str = ""
    stdin: bool = False  # the container keeps a stdin open (`stdin: true`, kubectl run -i): a shell waits on it


@dataclass(frozen=True)
class Outcome:
    lines: tuple[tuple[float, str], ...]  # (seconds after the start, text), the last MAX_LINES
    exit: tuple[int, float] | None  # (exit code, seconds after the start); None: still running at `until`
    listens: float | None = None  # when an image's server starts serving (seconds after the start)
    forever: bool = False  # it blocks for good (a server, sleep infinity, an endless loop); else it went past `until`


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class _Forever(Exception):
    """The program blocks from here on (a server, sleep infinity, what the simulator does not run)."""


class _Past(Exception):
    """The program went on past the time asked about."""


class _Break(Exception):
    pass


class Unsupported(Exception):
    pass


def _epoch(offset: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=offset)


def run(ctx: Context, until: float = math.inf, wall: Callable[[float], datetime] = _epoch) -> Outcome:
    """What `ctx.argv` prints up to `until` seconds after its start, and its exit if it has one by then."""
    shell = _Shell(ctx, until, wall)
    code: int | None = None
    forever = False
    try:
        shell.exec_argv(list(ctx.argv))
        code = 0 if shell.status is None else shell.status
    except _Exit as done:
        code = done.code
    except (_Forever, _Past) as stopped:
        code, forever = None, isinstance(stopped, _Forever)
    if shell.pending and shell.t <= until:
        shell.lines.append((shell.t, shell.pending))
    lines = tuple(shell.lines[-MAX_LINES:])
    return Outcome(lines, None if code is None else (code & 255, shell.t), shell.listens, forever)


# -- words: tokenizing, expanding ---------------------------------------------------------------
_OPERATORS = ("&&", "||", ";;", ">>", "2>&1", "1>&2", ">&2", "2>>", "2>", "1>", ";", "\n", "|", "&", ">", "<",
              "(", ")")


@dataclass(frozen=True)
class Word:
    parts: tuple[tuple[str, str], ...]  # (kind, text): "lit" as written in single quotes, "dq", "bare"

    @property
    def literal(self) -> str | None:
        """The word's text when it expands to itself (a keyword, a name)."""
        if all(kind == "bare" and "$" not in text and "`" not in text for kind, text in self.parts):
            return "".join(text for _, text in self.parts)
        return None

    def raw(self) -> str:
        return "".join(text if kind == "bare" else shlex.quote(text) for kind, text in self.parts)


def tokenize(text: str) -> list:
    """Words (Word) and operators (str), as a POSIX shell reads them (comments dropped)."""
    tokens: list = []
    parts: list[tuple[str, str]] = []
    bare = ""
    i, n = 0, len(text)

    def end_word() -> None:
        nonlocal bare, parts
        if bare:
            parts.append(("bare", bare))
            bare = ""
        if parts:
            tokens.append(Word(tuple(parts)))
            parts = []

    while i < n:
        c = text[i]
        if c in " \t":
            end_word()
            i += 1
        elif c == "#" and not bare and not parts:
            while i < n and text[i] != "\n":
                i += 1
        elif c == "\\" and i + 1 < n:
            if text[i + 1] == "\n":
                i += 2
                continue
            if bare:
                parts.append(("bare", bare))
                bare = ""
            parts.append(("lit", text[i + 1]))
            i += 2
        elif c == "'":
            close = text.find("'", i + 1)
            if close < 0:
                raise Unsupported("an unterminated quote")
            if bare:
                parts.append(("bare", bare))
                bare = ""
            parts.append(("lit", text[i + 1:close]))
            i = close + 1
        elif c == '"':
            j, chunk = i + 1, ""
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n and text[j + 1] in '"\\$`':
                    chunk += "\\" + text[j + 1] if text[j + 1] in "$`" else text[j + 1]
                    j += 2
                    continue
                if text[j] == "$" and text.startswith("$(", j):
                    close = _matching(text, j + 1)
                    chunk += text[j:close + 1]
                    j = close + 1
                    continue
                chunk += text[j]
                j += 1
            if j >= n:
                raise Unsupported("an unterminated quote")
            if bare:
                parts.append(("bare", bare))
                bare = ""
            parts.append(("dq", chunk))
            i = j + 1
        elif c == "$" and text.startswith("$(", i):
            close = _matching(text, i + 1)
            bare += text[i:close + 1]
            i = close + 1
        elif c == "$" and text.startswith("${", i):
            close = text.find("}", i)
            if close < 0:
                raise Unsupported("an unterminated ${")
            bare += text[i:close + 1]
            i = close + 1
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is not None and not (op in ("2>&1", "2>", "2>>", "1>&2", "1>") and (bare or parts)):
                end_word()
                tokens.append(op)
                i += len(op)
            else:
                bare += c
                i += 1
    end_word()
    return tokens


def _matching(text: str, opening: int) -> int:
    """The index of the parenthesis closing the one at `opening`."""
    depth = 0
    for j in range(opening, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    raise Unsupported("an unterminated $(")


# -- parsing ------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens: list) -> None:
        self.tokens, self.i = tokens, 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        return isinstance(token, Word) and token.literal in words

    def take(self, expected: str) -> None:
        token = self.peek()
        if (token.literal if isinstance(token, Word) else token) != expected:
            raise Unsupported(f"a script that does not parse (expected {expected!r})")
        self.i += 1

    def skip_newlines(self) -> None:
        while self.peek() in (";", "\n"):
            self.i += 1

    def script(self) -> tuple:
        body = self.sequence(())
        if self.peek() is not None:
            raise Unsupported(f"a script that does not parse (at {self.peek()!r})")
        return body

    def sequence(self, stops: tuple[str, ...]) -> tuple:
        items = []
        self.skip_newlines()
        while self.peek() is not None and not self.keyword(*stops) and self.peek() != ")":
            items.append(self.and_or())
            token = self.peek()
            if token == "&":
                raise Unsupported("a command run in the background (&)")
            if token in (";", "\n"):
                self.skip_newlines()
            elif token is not None and not self.keyword(*stops):
                raise Unsupported(f"a script that does not parse (at {token!r})")
        return ("seq", tuple(items))

    def and_or(self) -> tuple:
        node = self.pipeline()
        while self.peek() in ("&&", "||"):
            op = self.peek()
            self.i += 1
            while self.peek() == "\n":
                self.i += 1
            node = ("and" if op == "&&" else "or", node, self.pipeline())
        return node

    def pipeline(self) -> tuple:
        negate = False
        if self.keyword("!"):
            self.i, negate = self.i + 1, True
        node = self.command()
        if self.peek() == "|":
            raise Unsupported("a pipe (|)")
        return ("not", node) if negate else node

    def command(self) -> tuple:
        if self.keyword("while", "until"):
            negate = self.peek().literal == "until"
            self.i += 1
            cond = self.sequence(("do",))
            self.take("do")
            body = self.sequence(("done",))
            self.take("done")
            return ("while", cond, body, negate)
        if self.keyword("for"):
            self.i += 1
            name = self.peek().literal if isinstance(self.peek(), Word) else None
            if not name:
                raise Unsupported("a for loop without a name")
            self.i += 1
            words: list[Word] = []
            if self.keyword("in"):
                self.i += 1
                while isinstance(self.peek(), Word) and not self.keyword("do"):
                    words.append(self.peek())
                    self.i += 1
            self.skip_newlines()
            self.take("do")
            body = self.sequence(("done",))
            self.take("done")
            return ("for", name, tuple(words), body)
        if self.keyword("if"):
            self.i += 1
            branches, otherwise = [], None
            cond = self.sequence(("then",))
            self.take("then")
            branches.append((cond, self.sequence(("elif", "else", "fi"))))
            while self.keyword("elif"):
                self.i += 1
                cond = self.sequence(("then",))
                self.take("then")
                branches.append((cond, self.sequence(("elif", "else", "fi"))))
            if self.keyword("else"):
                self.i += 1
                otherwise = self.sequence(("fi",))
            self.take("fi")
            return ("if", tuple(branches), otherwise)
        if self.keyword("{"):
            self.i += 1
            body = self.sequence(("}",))
            self.take("}")
            return body
        if self.peek() == "(":
            raise Unsupported("a subshell ( ... )")
        return self.simple()

    def simple(self) -> tuple:
        assigns, words, redirects = [], [], []
        while True:
            token = self.peek()
            if isinstance(token, Word):
                literal = token.parts[0][1] if token.parts[0][0] == "bare" else ""
                if not words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", literal):
                    name, _, rest = literal.partition("=")
                    assigns.append((name, Word(((("bare", rest),) if rest else ()) + token.parts[1:])))
                else:
                    words.append(token)
                self.i += 1
            elif token in ("2>&1", "1>&2", ">&2"):
                self.i += 1
            elif token in (">", ">>", "1>", "2>", "2>>", "<"):
                self.i += 1
                target = self.peek()
                if not isinstance(target, Word):
                    raise Unsupported("a redirection without a file")
                self.i += 1
                redirects.append((token, target))
            else:
                break
        if not (assigns or words or redirects):
            raise Unsupported(f"a script that does not parse (at {self.peek()!r})")
        return ("cmd", tuple(assigns), tuple(words), tuple(redirects))


def parse(text: str) -> tuple:
    return _Parser(tokenize(text)).script()


def _mutates(node) -> bool:
    """Whether running `node` may change what the next run of it does (assignments, files)."""
    if isinstance(node, tuple):
        if node and node[0] == "cmd":
            return bool(node[1]) or any(op in (">", ">>", "1>", "2>", "2>>") for op, _ in node[3]) or \
                any(w.literal in ("exit", "break", "set", "read", "export", "cd") for w in node[2][:1])
        return any(_mutates(child) for child in node)
    return False


def _may_end(node) -> bool:
    """Whether running `node` may end the loop around it or the script (exit, break, exec, set -e)."""
    if isinstance(node, tuple):
        if node and node[0] == "cmd":
            return any(w.literal in ("exit", "break", "exec", "set", "return") for w in node[2][:1]) or \
                any(w.literal is None or w.literal.rsplit("/", 1)[-1] in catalog.SHELLS for w in node[2][:1])
        return any(_may_end(child) for child in node)
    return False


# -- running ------------------------------------------------------------------------------------
class _Shell:
    def __init__(self, ctx: Context, until: float, wall: Callable[[float], datetime]) -> None:
        self.ctx, self.until, self.wall = ctx, until, wall
        self.vars: dict[str, str] = dict(ctx.env)
        self.files: dict[str, str] = dict(ctx.files)
        self.t = 0.0
        self.lines: list[tuple[float, str]] = []
        self.status: int | None = None
        self.listens: float | None = None
        self.capture: list[list[str]] = []  # output taken by $( ) or a redirection
        self.positional: list[str] = []
        self.errexit = self.xtrace = False
        self.steps = 0
        self.busybox = ctx.image is None or ctx.image.name in ("busybox", "alpine")
        self.pending = ""  # echo -n's text, waiting for the rest of its line
        self.exported: set[str] = set()

    # -- output
    def say(self, text: str) -> None:
        """One or more lines printed now (a trailing newline ends the last)."""
        if self.capture:
            self.capture[-1].append(text)
            return
        if self.t > self.until:
            raise _Past()
        for line in text.split("\n"):
            self.lines.append((self.t, line))
        if len(self.lines) > 2 * MAX_LINES:
            del self.lines[:-MAX_LINES]

    def print(self, text: str) -> None:
        """`text` followed by a newline (echo's way)."""
        self.say(text)

    def honest(self, what: str) -> None:
        """What the simulator does not run: say so, then the container just stays running."""
        self.capture.clear()
        self.say(f"labkit: the simulator does not run {what}; this container now stays running, "
                 "printing nothing (on a real cluster it would run it)")
        raise _Forever()

    def sleep(self, seconds: float) -> None:
        if seconds == math.inf:
            raise _Forever()
        self.t += seconds
        if self.t > self.until:
            raise _Past()

    # -- argv: the container's process
    def exec_argv(self, argv: list[str]) -> int:
        if not argv:
            self.honest("a container with no command (its image has none)")
        program = argv[0].rsplit("/", 1)[-1]
        image = self.ctx.image
        if image is not None and program in image.programs and program not in catalog.SHELLS:
            return self.image_program(program, image.programs[program], argv[1:])
        if program in catalog.SHELLS:
            return self.shell(argv)
        return self.command(argv, text=shlex.join(argv))

    def shell(self, argv: list[str]) -> int:
        args = argv[1:]
        flags = []
        while args and args[0].startswith("-") and args[0] != "-c":
            flags.append(args.pop(0))
        if "-e" in flags:
            self.errexit = True
        if "-x" in flags:
            self.xtrace = True
        if not args:
            if self.ctx.stdin:
                raise _Forever()  # it waits for commands on its open stdin (kubectl attach would type them)
            raise _Exit(0)  # no terminal, stdin empty: the shell reads EOF and ends (kubectl run bb --image=busybox)
        if args[0] == "-c":
            if len(args) < 2:
                self.say(f"{argv[0].rsplit('/', 1)[-1]}: -c requires an argument")
                raise _Exit(2)
            self.positional = args[2:]
            return self.script(args[1])
        path = args[0]
        if path in self.files:
            self.positional = args[:]
            return self.script(self.files[path])
        self.say(f"{argv[0].rsplit('/', 1)[-1]}: can't open '{path}': No such file or directory"
                 if self.busybox else f"{argv[0]}: {path}: No such file or directory")
        raise _Exit(127 if not self.busybox else 2)

    def script(self, text: str) -> int:
        try:
            tree = parse(text)
        except Unsupported as reason:
            self.honest(f"{reason} in {text.strip()!r}")
        return self.node(tree)

    def image_program(self, name: str, program: catalog.Program, args: list[str]) -> int:
        """One of the image's own programs (labkit/catalog.py): its lines, then it serves, exits or,
        an entrypoint script, runs its arguments."""
        if program.repl:
            if args:
                self.honest(f"{name} with arguments ({shlex.join([name, *args])!r})")
            if self.ctx.stdin:
                raise _Forever()
            raise _Exit(0)  # no terminal: it reads an empty stdin and ends
        if program.wraps is not None and args and args[0].rsplit("/", 1)[-1] not in program.wraps:
            return self.exec_argv(args)  # exec "$@", without a word
        for line in program.lines:
            self.print(self.fill(line))
        if program.needs and not any(self.vars.get(v) for v in program.needs):
            for line in program.refusal:
                self.print(self.fill(line))
            raise _Exit(1)
        if program.wraps is not None:
            if args:
                return self.exec_argv(args)
            raise _Exit(0)
        if program.exit is not None:
            raise _Exit(program.exit)
        self.listens = self.t + program.listens_after
        raise _Forever()  # a server: it serves until it is stopped

    def fill(self, line: str) -> str:
        ctx = self.ctx
        return catalog.fill(line, self.wall(self.t), version=ctx.version, hostname=ctx.hostname, ip=ctx.ip,
                           port=ctx.image.port if ctx.image else "", major=ctx.version.split(".")[0])

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
            except _Break:
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
        steady = always and not _mutates(body)
        endless = always and not _may_end(body) and not self.errexit
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
                        raise _Forever()  # a busy loop: it spins, silent, until stopped
                    if self.steps > MAX_STEPS:
                        self.honest("a loop this long without sleeping")
                elif endless and self.until == math.inf:
                    raise _Forever()  # it sleeps and goes round again, and nothing in it ends it
                if self.t > start and steady:
                    if self.until == math.inf:
                        raise _Forever()  # the same again and again: it never ends
                    period = self.t - start
                    skip = math.floor((self.until - self.t) / period) - MAX_LINES
                    if skip > 0:  # far more than a log keeps: the older rounds are rotated away
                        self.t += skip * period
                        self.lines.clear()
        except _Break:
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
                        self.files[path] = (self.files.get(path, "") if op == ">>" else "") + written
        finally:
            for k, v in saved.items():
                if v is None:
                    self.vars.pop(k, None)
                else:
                    self.vars[k] = v
        self.status = status
        if status and self.errexit:
            raise _Exit(status)
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
                close = _matching(text, i + 1)
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
        except _Exit as done:
            status = done.code
        output = "\n".join(self.capture.pop()) if self.capture else ""
        self.status = status
        return output.rstrip("\n")

    # -- the commands
    def command(self, argv: list[str], text: str) -> int:
        name = argv[0].rsplit("/", 1)[-1] if argv[0].startswith("/") else argv[0]
        args = argv[1:]
        handler = getattr(self, "cmd_" + name.replace("-", "_"), None) if re.fullmatch(r"[a-z]+", name) else None
        if name in (":", "true"):
            return 0
        if name == "[":
            return self.cmd_test(args[:-1] if args[-1:] == ["]"] else args)
        if handler is not None:
            return handler(args)
        image = self.ctx.image
        program = name.rsplit("/", 1)[-1]
        if program in catalog.SHELLS:
            return self.nested_shell(argv)
        if image is not None and program in image.programs:
            return self.image_program(program, image.programs[program], args)
        self.honest(f"{text!r}")
        return 0

    def nested_shell(self, argv: list[str]) -> int:
        positional, errexit = self.positional, self.errexit
        try:
            return self.shell(argv)
        except _Exit as done:
            return done.code
        finally:
            self.positional, self.errexit = positional, errexit

    def cmd_echo(self, args: list[str]) -> int:
        newline, escapes = True, False
        while args and args[0] in ("-n", "-e", "-E", "-ne", "-en"):
            newline = newline and "n" not in args[0]
            escapes = "e" in args[0]
            args = args[1:]
        text = " ".join(args)
        if escapes:
            text = text.replace("\\n", "\n").replace("\\t", "\t")
        self.emit(text, newline)
        return 0

    def emit(self, text: str, newline: bool = True) -> None:
        """Output that may lack its final newline (echo -n, printf): it joins the next output's line."""
        text = self.pending + text
        if not newline:
            self.pending = text
            return
        self.pending = ""
        self.print(text)

    def cmd_printf(self, args: list[str]) -> int:
        if not args:
            self.say("printf: usage: printf FORMAT [ARGUMENT]...")
            return 2
        fmt, values = args[0], args[1:]
        count = max(fmt.count("%s") + fmt.count("%d"), 1)
        out = ""
        while True:
            chunk, taken = values[:count], values[count:]
            piece = re.sub(r"%[sd]", lambda m, it=iter(chunk): next(it, ""), fmt.replace("%%", "\0"))
            out += piece.replace("\0", "%")
            values = taken
            if not values:
                break
        out = out.replace("\\n", "\n").replace("\\t", "\t")
        lines = out.split("\n")
        for line in lines[:-1]:
            self.emit(line)
        if lines[-1]:
            self.emit(lines[-1], newline=False)
        return 0

    def cmd_sleep(self, args: list[str]) -> int:
        total = 0.0
        for arg in args or ["?"]:
            if arg == "infinity":
                self.sleep(math.inf)
            m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", arg)
            if not m:
                self.say(f"sleep: invalid number '{arg}'")
                return 1
            total += float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        self.sleep(total)
        return 0

    def cmd_printenv(self, args: list[str]) -> int:
        if not args:
            return self.cmd_env([])
        found = [self.vars[a] for a in args if a in self.vars]
        for value in found:
            self.print(value)
        return 0 if len(found) == len(args) else 1

    def cmd_env(self, args: list[str]) -> int:
        if args:
            self.honest(f"env with arguments ({shlex.join(['env', *args])!r})")
        for key, value in self.vars.items():
            if key in self.ctx.env or key in self.exported:
                self.print(f"{key}={value}")
        return 0

    def cmd_export(self, args: list[str]) -> int:
        for arg in args:
            name, eq, value = arg.partition("=")
            if eq:
                self.vars[name] = value
            self.exported.add(name)
        return 0

    def cmd_date(self, args: list[str]) -> int:
        when = self.wall(self.t)
        fmt = next((a[1:] for a in args if a.startswith("+")), None)
        if any(not a.startswith("+") and a not in ("-u", "--utc") for a in args):
            self.honest(f"date with {shlex.join(args)!r}")
        self.print(when.strftime(fmt) if fmt is not None else
                   when.strftime("%a %b ") + f"{when.day:2d}" + when.strftime(" %H:%M:%S UTC %Y"))
        return 0

    def cmd_hostname(self, args: list[str]) -> int:
        if args and args != ["-s"]:
            self.honest(f"hostname {shlex.join(args)!r}")
        self.print(self.ctx.hostname)
        return 0

    def cmd_cat(self, args: list[str]) -> int:
        status = 0
        if not args:
            return 0  # stdin is empty
        for path in args:
            if path in self.files:
                content = self.files[path]
                for line in (content[:-1] if content.endswith("\n") else content).split("\n"):
                    self.print(line)
            elif path in ("/etc/hostname",):
                self.print(self.ctx.hostname)
            else:
                self.print(f"cat: can't open '{path}': No such file or directory" if self.busybox
                           else f"cat: {path}: No such file or directory")
                status = 1
        return status

    def cmd_exit(self, args: list[str]) -> int:
        code = self.status or 0
        if args:
            if not args[0].lstrip("-").isdigit():
                self.print(f"sh: exit: Illegal number: {args[0]}" if self.busybox
                           else f"bash: exit: {args[0]}: numeric argument required")
                code = 2
            else:
                code = int(args[0])
        raise _Exit(code)

    def cmd_false(self, args: list[str]) -> int:
        return 1

    def cmd_break(self, args: list[str]) -> int:
        raise _Break()

    def cmd_exec(self, args: list[str]) -> int:
        if not args:
            return 0
        raise _Exit(self.exec_argv(args) or 0)

    def cmd_set(self, args: list[str]) -> int:
        for arg in args:
            if arg.startswith("-"):
                self.errexit |= "e" in arg
                self.xtrace |= "x" in arg
            elif arg.startswith("+"):
                self.errexit &= "e" not in arg
                self.xtrace &= "x" not in arg
        return 0

    def cmd_tail(self, args: list[str]) -> int:
        if "-f" in args and args[-1] == "/dev/null":
            raise _Forever()
        self.honest(f"tail {shlex.join(args)!r}")
        return 0

    def cmd_test(self, args: list[str]) -> int:
        def truth(args: list[str]) -> bool:
            if args[:1] == ["!"]:
                return not truth(args[1:])
            if len(args) == 0:
                return False
            if len(args) == 1:
                return args[0] != ""
            if len(args) == 2:
                op, value = args
                if op == "-z":
                    return value == ""
                if op == "-n":
                    return value != ""
                if op in ("-f", "-e", "-r", "-s"):
                    return value in self.files and (op != "-s" or bool(self.files[value]))
                if op == "-d":
                    return any(p.startswith(value.rstrip("/") + "/") for p in self.files)
            if len(args) == 3:
                a, op, b = args
                if op in ("=", "=="):
                    return a == b
                if op == "!=":
                    return a != b
                ops = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__,
                       "-gt": int.__gt__, "-ge": int.__ge__}
                if op in ops:
                    try:
                        return ops[op](int(a), int(b))
                    except ValueError:
                        raise _Exit(2) from None
            self.honest(f"the test [ {' '.join(args)} ]")
            return False
        return 0 if truth(args) else 1

    def cmd_pwd(self, args: list[str]) -> int:
        self.print("/")
        return 0

    def cmd_whoami(self, args: list[str]) -> int:
        self.print("root")
        return 0


# -- a container's runs ---------------------------------------------------------------------------
@dataclass(eq=False)
class Run:
    """One start of a container: what it runs with, when, and how it ended (the kubelet keeps the
    current run and the last terminated one: `kubectl logs` and `kubectl logs --previous`)."""
    started: float  # cluster seconds
    ctx: Context
    outcome: Outcome  # worked out once, as it starts (its exit)
    finished: float | None = None  # when it ended (exited, or was stopped)
    code: int | None = None

    @property
    def reason(self) -> str:
        """The terminated state's reason, in the kubelet's words."""
        return "Completed" if self.code == 0 else "Error"

    def output(self, now: float, wall: Callable[[float], datetime]) -> list[tuple[float, str]]:
        """What it printed by `now` (cluster seconds): (cluster seconds, line); `wall` turns cluster
        seconds into the time the program prints."""
        end = now if self.finished is None else min(now, self.finished)
        if end < self.started:
            return []
        # (a hair over: cluster seconds are floats, and started + offset - started may fall short of offset)
        done = run(self.ctx, end - self.started + 1e-6, lambda offset: wall(self.started + offset))
        return [(self.started + at, text) for at, text in done.lines]
