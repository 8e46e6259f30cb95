"""Reading a command line the way docker, kubectl and minikube read theirs.

All three are Go programs built on cobra/pflag, so they share one grammar:
`--flag=value`, `--flag value`, `-f value`, `-fvalue`, `-f=value`, grouped
boolean shorthands (`-it`), `--` to end the flags, and flags mixed with
arguments (except after the IMAGE of `docker run` / `docker service create`,
where the rest belongs to the container's command). Mistakes get the tools'
own messages (`unknown flag: --tocken`, `"docker service scale" requires at
least 1 argument.`), plus a labkit hint such as "did you mean --token?".
"""
from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import LabkitError

UINT64_MAX = 2 ** 64 - 1
INT32_MAX = 2 ** 31 - 1
INT64_MAX = 2 ** 63 - 1
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


class ConsoleError(LabkitError):
    """A command failed; `message` is what the real tool would print."""

    tool_words = True  # shown as the tool prints it, without a Python kind in front


class OutcomeError(ConsoleError):
    """The command ran (the cluster took it), and what came of it is an error: a rollout that
    missed its deadline, an update that paused. Unlike a UsageError, things may have changed."""


class UsageError(ConsoleError):
    """A command was rejected before it did anything (bad syntax, flag or argument)."""


@dataclass(frozen=True)
class Flag:
    name: str  # long name, without dashes
    short: str = ""  # one letter, without the dash
    kind: str = "string"  # bool | string | list | int | uint | int32 | duration | float
    help: str = ""
    default: Any = None
    hidden: bool = False  # accepted, not listed in --help (deprecated flags)

    @property
    def takes_value(self) -> bool:
        return self.kind != "bool"


@dataclass(frozen=True)
class Command:
    """One command of a tool: its words, flags, arguments and handler."""

    tool: str
    path: tuple[str, ...]
    usage: str  # what follows the command words in "Usage:", e.g. "[OPTIONS] IMAGE [COMMAND] [ARG...]"
    summary: str
    flags: tuple[Flag, ...] = ()
    min_args: int = 0
    max_args: int | None = None
    run: Callable | None = None
    interspersed: bool = True  # False: the first argument ends the flags (docker run IMAGE CMD...)
    aliases: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return " ".join((self.tool,) + self.path)

    def flag(self, token: str) -> Flag | None:
        for f in self.flags:
            if token in (f.name,) or (f.short and token == f.short):
                return f
        return None


@dataclass
class Parsed:
    command: Command
    args: list[str] = field(default_factory=list)
    opts: dict[str, Any] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)  # the flags the user typed

    def __getitem__(self, name: str) -> Any:
        return self.opts[name]

    def get(self, name: str, default: Any = None) -> Any:
        value = self.opts.get(name)
        return default if value is None else value


# -- tokens -----------------------------------------------------------------------------------
def tokenize(line: str) -> list[str]:
    """Split a command line as a POSIX shell would (quotes, escapes), or say why it cannot."""
    if not isinstance(line, str):
        raise UsageError(f"a command line is text, not {type(line).__name__}",
                         'e.g. labkit.sh("kubectl get pods")')
    try:
        return shlex.split(line, comments=True)
    except ValueError as exc:
        what = "a quote is not closed" if "quotation" in str(exc) else "the line ends with a lone backslash"
        raise UsageError(f"unexpected end of line: {what}", "close every ' and \" you open") from None


def closest(word: str, choices, cutoff: float = 0.6) -> str | None:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return match[0] if match else None


# -- tool-style messages --------------------------------------------------------------------------
def see_help(cmd: Command) -> str:
    if cmd.tool == "docker":
        return f"See '{cmd.title} --help'."
    return f"See '{cmd.title} --help' for usage."


def flag_error(cmd: Command, text: str, hint: str = "") -> UsageError:
    prefix = "" if cmd.tool == "docker" else "Error: "
    return UsageError(f"{prefix}{text}\n{see_help(cmd)}", hint)


def args_error(cmd: Command, count: int) -> UsageError:
    lo, hi = cmd.min_args, cmd.max_args
    if hi == lo:
        need = f"exactly {lo} argument{'s' if lo != 1 else ''}"
    elif count < lo:
        need = f"at least {lo} argument{'s' if lo != 1 else ''}"
    else:
        need = f"at most {hi} argument{'s' if hi != 1 else ''}" if hi else "no arguments"
    if cmd.tool == "docker":
        return UsageError(f'"{cmd.title}" requires {need}.\n{see_help(cmd)}\n\n'
                          f"Usage:  {cmd.title} {cmd.usage}\n\n{cmd.summary}", "")
    words = "no arguments" if hi == 0 else need
    return UsageError(f"error: {cmd.title} accepts {words}, got {count}\n{see_help(cmd)}",
                      f"usage: {cmd.title} {cmd.usage}")


def usage_text(cmd: Command) -> str:
    """`--help` for one command, in the tool's layout."""
    lines = [f"Usage:  {cmd.title} {cmd.usage}".rstrip(), "", cmd.summary]
    shown = [f for f in cmd.flags if not f.hidden]
    if shown:
        lines += ["", "Options:"]
        for f in shown:
            names = (f"-{f.short}, " if f.short else "    ") + f"--{f.name}"
            kind = "" if f.kind == "bool" else f" {f.kind}"
            lines.append(f"  {names + kind:<34}{f.help}")
    return "\n".join(lines)


# -- values ---------------------------------------------------------------------------------------
def convert(cmd: Command, flag: Flag, raw: str) -> Any:
    """A flag's value, checked as pflag would, with its message when it is wrong."""
    def bad(reason: str) -> UsageError:
        return flag_error(cmd, f'invalid argument "{raw}" for "{_names(flag)}" flag: {reason}')

    if flag.kind in ("string", "list"):
        return raw
    if flag.kind == "bool":
        value = raw.lower()
        if value in ("1", "t", "true"):
            return True
        if value in ("0", "f", "false"):
            return False
        raise bad(f'strconv.ParseBool: parsing "{raw}": invalid syntax')
    if flag.kind in ("int", "uint", "int32"):
        parser = "strconv.ParseUint" if flag.kind == "uint" else "strconv.ParseInt"
        if not re.fullmatch(r"[+-]?\d+", raw) or (flag.kind == "uint" and raw.startswith(("-", "+"))):
            raise bad(f'{parser}: parsing "{raw}": invalid syntax')
        value = int(raw)
        top = {"uint": UINT64_MAX, "int32": INT32_MAX, "int": INT64_MAX}[flag.kind]
        if not -top - 1 <= value <= top:
            raise bad(f'{parser}: parsing "{raw}": value out of range')
        return value
    if flag.kind == "float":
        try:
            value = float(raw)
        except ValueError:
            raise bad(f'strconv.ParseFloat: parsing "{raw}": invalid syntax') from None
        if value != value or value in (float("inf"), float("-inf")):
            raise bad(f'strconv.ParseFloat: parsing "{raw}": invalid syntax')
        return value
    if flag.kind == "duration":
        return duration(raw, lambda reason: bad(reason))
    raise AssertionError(flag.kind)


def duration(raw: str, bad: Callable[[str], Exception]) -> float:
    """Go's time.ParseDuration: "10s", "1m30s", "500ms"; a bare "0" is allowed."""
    text = raw.lstrip("+")
    if text == "0":
        return 0.0
    if text.startswith("-"):
        raise bad(f'negative duration "{raw}" is not allowed here')
    if not text or not re.fullmatch(rf"(?:{_DURATION.pattern})+", text):
        if re.fullmatch(r"\d+(\.\d*)?", text):
            raise bad(f'time: missing unit in duration "{raw}"')
        raise bad(f'time: invalid duration "{raw}"')
    total = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION.findall(text))
    if total > 10 ** 9:
        raise bad(f'time: invalid duration "{raw}"')
    return total


def _names(flag: Flag) -> str:
    return f"-{flag.short}, --{flag.name}" if flag.short else f"--{flag.name}"


# -- the parser -------------------------------------------------------------------------------------
def parse(cmd: Command, argv: list[str]) -> Parsed:
    """Flags and arguments of one command, or a UsageError in the tool's words."""
    out = Parsed(cmd, opts={f.name: ([] if f.kind == "list" else f.default) for f in cmd.flags})
    helps = {"--help"} | ({"-h"} if any(f.name == "help" and f.short == "h" for f in cmd.flags) else set())
    before = argv[:argv.index("--")] if "--" in argv else argv
    if cmd.flag("help") and helps & set(before if cmd.interspersed else before[:1]):
        out.opts["help"] = True
        return out
    i, args_only = 0, False
    while i < len(argv):
        token = argv[i]
        i += 1
        if args_only or token == "-" or not token.startswith("-"):
            out.args.append(token)
            if not cmd.interspersed and not args_only:
                args_only = True
            continue
        if token == "--":
            args_only = True
            continue
        if token.startswith("--"):
            name, eq, value = token[2:].partition("=")
            flag = cmd.flag(name) if name else None
            if flag is None:
                raise _unknown(cmd, "--" + name)
            if flag.takes_value and not eq:
                if i >= len(argv):
                    raise flag_error(cmd, f"flag needs an argument: --{name}")
                value, i = argv[i], i + 1
            _store(cmd, out, flag, value if (eq or flag.takes_value) else "true")
            continue
        # shorthand(s): -d, -it, -p8080:80, -p 8080:80, -n=3
        letters = token[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            flag = next((f for f in cmd.flags if f.short == letter), None)
            if flag is None:
                raise flag_error(cmd, f"unknown shorthand flag: '{letter}' in {token}",
                                 _flag_hint(cmd, "-" + letter))
            if not flag.takes_value:
                if letters.startswith("="):
                    _store(cmd, out, flag, letters[1:])
                    letters = ""
                else:
                    _store(cmd, out, flag, "true")
                continue
            if letters:
                value, letters = letters[1:] if letters.startswith("=") else letters, ""
            elif i < len(argv):
                value, i = argv[i], i + 1
            else:
                raise flag_error(cmd, f"flag needs an argument: '{letter}' in -{letter}")
            _store(cmd, out, flag, value)
    if len(out.args) < cmd.min_args or (cmd.max_args is not None and len(out.args) > cmd.max_args):
        raise args_error(cmd, len(out.args))
    return out


def _store(cmd: Command, out: Parsed, flag: Flag, raw: str) -> None:
    value = convert(cmd, flag, raw)
    out.given.add(flag.name)
    if flag.kind == "list":
        out.opts[flag.name].append(value)
    else:
        out.opts[flag.name] = value


def _unknown(cmd: Command, token: str) -> UsageError:
    return flag_error(cmd, f"unknown flag: {token}", _flag_hint(cmd, token))


def _flag_hint(cmd: Command, token: str) -> str:
    names = [f"--{f.name}" for f in cmd.flags] + [f"-{f.short}" for f in cmd.flags if f.short]
    guess = closest(token, names, 0.5) if token.startswith("--") else None
    if guess:
        return f"did you mean {guess}?"
    shown = ", ".join(f"--{f.name}" for f in cmd.flags if not f.hidden)
    return f"`{cmd.title}` takes {shown}" if shown else f"`{cmd.title}` takes no flags"


def flag_value(argv: list[str], *names: str, separate: bool = True) -> str | None:
    """The value of the first of `names` given in `argv`: `--name=value`, or (when the flag
    takes a value, `separate`) `--name value`."""
    for i, token in enumerate(argv):
        for name in names:
            if token.startswith(name + "="):
                return token[len(name) + 1:]
            if separate and token == name and i + 1 < len(argv):
                return argv[i + 1]
    return None


def positionals(argv: list[str], valued: tuple[str, ...]) -> list[str]:
    """The words of `argv` that are not flags, nor the values of the `valued` flags."""
    out, skip = [], False
    for token in argv:
        if skip:
            skip = False
        elif token.startswith("-"):
            skip = token in valued
        else:
            out.append(token)
    return out


def is_placeholder(token: str) -> bool:
    """`<token>`, `<-e>`: the notes' way of saying "put something here"."""
    return len(token) > 2 and token.startswith("<") and token.endswith(">")
