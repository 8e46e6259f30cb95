"""The shell language a simulated container's script is written in, as far as the simulator reads
it: words (`tokenize`), the tree of a script (`parse`), and what a tree may do when it runs
(`mutates`, `may_end`). Nothing here runs anything: interpreter.py walks the tree.

A tree is nested tuples: ("seq", items), ("and", a, b), ("or", a, b), ("not", a),
("if", ((cond, body), ...), otherwise), ("while", cond, body, until), ("for", name, words, body)
and ("cmd", assigns, words, redirects), a simple command.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ... import catalog


class Unsupported(Exception):
    """What the simulator does not run (a pipe, a subshell, a script that does not parse): why."""


# -- words: tokenizing --------------------------------------------------------------------------
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

    def end_bare() -> None:
        nonlocal bare
        if bare:
            parts.append(("bare", bare))
            bare = ""

    def end_word() -> None:
        nonlocal parts
        end_bare()
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
            end_bare()
            parts.append(("lit", text[i + 1]))
            i += 2
        elif c == "'":
            close = text.find("'", i + 1)
            if close < 0:
                raise Unsupported("an unterminated quote")
            end_bare()
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
                    close = matching(text, j + 1)
                    chunk += text[j:close + 1]
                    j = close + 1
                    continue
                chunk += text[j]
                j += 1
            if j >= n:
                raise Unsupported("an unterminated quote")
            end_bare()
            parts.append(("dq", chunk))
            i = j + 1
        elif c == "$" and text.startswith("$(", i):
            close = matching(text, i + 1)
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


def matching(text: str, opening: int) -> int:
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


def mutates(node) -> bool:
    """Whether running `node` may change what the next run of it does (assignments, files)."""
    if isinstance(node, tuple):
        if node and node[0] == "cmd":
            return bool(node[1]) or any(op in (">", ">>", "1>", "2>", "2>>") for op, _ in node[3]) or \
                any(w.literal in ("exit", "break", "set", "read", "export", "cd") for w in node[2][:1])
        return any(mutates(child) for child in node)
    return False


def may_end(node) -> bool:
    """Whether running `node` may end the loop around it or the script (exit, break, exec, set -e)."""
    if isinstance(node, tuple):
        if node and node[0] == "cmd":
            return any(w.literal in ("exit", "break", "exec", "set", "return") for w in node[2][:1]) or \
                any(w.literal is None or w.literal.rsplit("/", 1)[-1] in catalog.SHELLS for w in node[2][:1])
        return any(may_end(child) for child in node)
