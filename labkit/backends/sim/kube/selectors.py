"""Label and field selectors as the API server parses them, in time linear in their length.

- Label selectors (apimachinery pkg/labels/selector.go): `app=web`, `app==web`, `app!=web`,
  `env in (a,b)`, `env notin (a)`, `tier` (exists), `!canary`, `replicas>2`, `replicas<5`,
  comma-separated. A lexer cuts the text into identifiers and operators (one pass, no
  backtracking), and a recursive-descent parser reads them, with the server's error texts
  ("unable to parse requirement: ...", "found 'b', expected: ..."). Keys must be label keys and
  values label values (validation.py), as NewRequirement checks.
- Field selectors (pkg/fields/selector.go): `key=value`, `key==value`, `key!=value`,
  comma-separated, `\\` escaping `\\`, `,` and `=` in a value; a field the resource does not
  offer answers "field label not supported: X".

Both are parsed before the API lock is taken (server.matchers). A selector whose URL encoding
would pass the kube-apiserver's MaxHeaderBytes (Go's http.DefaultMaxHeaderBytes, 1 MiB) never
reaches the real server's parser, so it is refused here before being read; below that, a
selector of any shape parses in a fraction of a second.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from . import validation

MAX_QUERY = 1 << 20      # Go's http.DefaultMaxHeaderBytes, the kube-apiserver's MaxHeaderBytes
END = ""                 # the end of input, as the parser sees it (no token is empty)
SYMBOLS = frozenset({"(", ")", ",", "!", "=", "==", "!=", ">", "<"})
_OPERATORS = {"in": "in", "notin": "notin", "=": "=", "==": "==", "!=": "!=", ">": "gt", "<": "lt"}
_BINARY = "in, notin, =, ==, !=, gt, lt"        # selector.go binaryOperators, as its errors list them
_NONE: frozenset = frozenset()
# One token after optional blanks: a NUL (the Go lexer's end of input), an operator, or an
# identifier (a NUL right after a token is swallowed with it, as Lexer.read does). The classes do
# not overlap, so each token is matched once, without backtracking.
_TOKEN = re.compile(r"[ \t\r\n]*(\x00|==|!=|[=!(),<>]|[^ \t\r\n=!(),<>\x00]+)\x00?")
# A requirement without blanks or parentheses: `!key`, `key`, or `key`, operator and value.
_PLAIN = re.compile(r"(!?)([^=!<>]+)|([^=!<>]+)(==|!=|=|<|>)([^=!<>]*)")
_NOT_PLAIN = re.compile(r"[ \t\r\n()\x00]")
_DIGITS = re.compile(r"[0-9]+")
_URL_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~ "


class SelectorError(ValueError):
    """A selector that does not parse (the API answers 400 BadRequest with this text)."""


def _too_long(text: str) -> None:
    """A selector whose URL encoding (url.Values.Encode: a byte outside [A-Za-z0-9-_.~ ] takes
    three) passes Go's header limit never reaches the real server's parser: it answers 431."""
    raw = text.encode("utf-8", "surrogatepass")
    encoded = len(raw) + 2 * len(raw.translate(None, _URL_SAFE))
    if encoded > MAX_QUERY:
        raise SelectorError(f"Request Header Fields Too Large: the selector takes {encoded} bytes in the URL, "
                            f"more than the {MAX_QUERY} an API server reads")


# -- label selectors -------------------------------------------------------------------------------
def _lex(text: str) -> list[str]:
    """Lexer.Lex until the end: the tokens' literals, then END. An identifier is told from an
    operator by not being in SYMBOLS; 'in' and 'notin' stay identifiers until the parser reads
    them where an operator belongs, as selector.go's Values context does."""
    tokens = _TOKEN.findall(text.rstrip(" \t\r\n"))
    if "\x00" in tokens:                             # a NUL where a token starts: Lex's end
        del tokens[tokens.index("\x00"):]
    tokens.append(END)
    return tokens


def _plain(text: str) -> list[tuple[str, str, frozenset]] | None:
    """The requirements of a selector written without blanks or parentheses (what kubectl
    and controllers send), each distinct one read once; None when the selector is anything
    else or has a fault, for `_parse` to read and to word the fault as the server does."""
    if _NOT_PLAIN.search(text):
        return None
    found = []
    for part in dict.fromkeys(text.split(",")):
        match = _PLAIN.fullmatch(part)
        if not match:
            return None
        negated, key, other, operator, value = match.groups()
        if operator is None:
            if validation.label_key(key):
                return None
            found.append((key, "!" if negated else "exists", _NONE))
            continue
        operator = _OPERATORS[operator]
        if validation.label_key(other) or validation.label_value(value) or \
                operator in ("gt", "lt") and _integer(value) is None:
            return None
        found.append((other, operator, frozenset((value,))))
    return found


def _parse(text: str) -> list[tuple[str, str, frozenset]]:
    """Parser.parse: requirements separated by ',' up to the end."""
    tokens, at, found = _lex(text), 0, []
    while True:
        token = tokens[at]
        if token == END:
            return found
        if token in SYMBOLS and token != "!":
            raise SelectorError(f"found '{token}', expected: !, identifier, or 'end of string'")
        try:
            at, requirement = _requirement(tokens, at)
        except SelectorError as error:
            raise SelectorError(f"unable to parse requirement: {error}") from None
        found.append(requirement)
        token, at = tokens[at], at + 1
        if token == END:
            return found
        if token != ",":
            raise SelectorError(f"found '{token}', expected: ',' or 'end of string'")
        if tokens[at] == END or tokens[at] in SYMBOLS and tokens[at] != "!":
            raise SelectorError(f"found '{tokens[at]}', expected: identifier after ','")


def _requirement(tokens: list[str], at: int) -> tuple[int, tuple[str, str, frozenset]]:
    """parseRequirement: [!]key, or key, operator and value(s); returns where it stopped."""
    negated = tokens[at] == "!"
    key, at = tokens[at + negated], at + negated + 1
    if key == END or key in SYMBOLS:
        raise SelectorError(f"found '{key}', expected: identifier")
    if errors := validation.label_key(key):
        raise SelectorError(f"<nil>: {validation.invalid_value(key, '; '.join(errors))}")
    if negated:
        return at, (key, "!", _NONE)
    if tokens[at] in (END, ","):
        return at, (key, "exists", _NONE)
    operator = _OPERATORS.get(tokens[at])
    if operator is None:
        raise SelectorError(f"found '{tokens[at]}', expected: {_BINARY}")
    if operator in ("in", "notin"):
        at, values = _values(tokens, at + 1)
    elif tokens[at + 1] in (END, ","):
        at, values = at + 1, [""]
    elif tokens[at + 1] in SYMBOLS:
        raise SelectorError(f"found '{tokens[at + 1]}', expected: identifier")
    else:
        at, values = at + 2, [tokens[at + 1]]
    return at, _checked(key, operator, values)


def _values(tokens: list[str], at: int) -> tuple[int, list[str]]:
    """parseValues and parseIdentifiersList: '(' values ')', where a ',' with nothing before or
    after it stands for ''."""
    if tokens[at] != "(":
        raise SelectorError(f"found '{tokens[at]}' expected: '('")
    at += 1
    if tokens[at] == ")":
        return at + 1, [""]
    if tokens[at] == END or tokens[at] in SYMBOLS and tokens[at] != ",":
        raise SelectorError(f"found '{tokens[at]}', expected: ',', ')' or identifier")
    found: set[str] = set()
    while True:
        token, at = tokens[at], at + 1
        if token == ",":
            if not found or tokens[at] in (")", ","):
                found.add("")
        elif token != END and token not in SYMBOLS:
            found.add(token)
            if tokens[at] not in (")", ","):
                raise SelectorError(f"found '{tokens[at]}', expected: ',' or ')'")
        else:
            raise SelectorError(f"found '{token}', expected: ',', or identifier")
        if tokens[at] == ")":
            return at + 1, sorted(found)


def _checked(key: str, operator: str, values: list[str]) -> tuple[str, str, frozenset]:
    """NewRequirement's checks on the values (the key was checked as it was read), its
    field errors joined as an aggregate error prints them."""
    errors = []
    if operator in ("gt", "lt"):
        errors += [f"values[{i}]: " + validation.invalid_value(value, "for 'Gt', 'Lt' operators, the value must be an "
                                                                     "integer")
                   for i, value in enumerate(values) if _integer(value) is None]
    for i, value in enumerate(values):
        if problems := validation.label_value(value):
            errors.append(f"values[{i}][{key}]: " + validation.invalid_value(value, "; ".join(problems)))
    errors = list(dict.fromkeys(errors))
    if errors:
        raise SelectorError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    return key, operator, frozenset(values)


def _integer(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64), or None where Go gives an error."""
    digits = text[1:] if text.startswith(("+", "-")) else text
    if not _DIGITS.fullmatch(digits):
        return None
    digits = digits.lstrip("0")
    if len(digits) > 19:
        return None
    number = -int(digits or "0") if text.startswith("-") else int(digits or "0")
    return number if -(1 << 63) <= number < (1 << 63) else None


def _holds(labels: dict, key: str, operator: str, values: frozenset) -> bool:
    """Requirement.Matches."""
    if operator in ("in", "=", "=="):
        return key in labels and labels[key] in values
    if operator in ("notin", "!="):
        return key not in labels or labels[key] not in values
    if operator == "exists":
        return key in labels
    if operator == "!":
        return key not in labels
    have, want = _integer(str(labels.get(key, ""))), _integer(next(iter(values)))
    if have is None or want is None:
        return False
    return have > want if operator == "gt" else have < want


def label_matcher(text: str | None) -> Callable[[dict | None], bool]:
    """A function labels -> bool for a label selector ('' or None matches everything)."""
    _too_long(text or "")
    plain = _plain(text) if text else []
    requirements = list(dict.fromkeys(_parse(text or "") if plain is None else plain))
    return lambda labels: all(_holds(labels or {}, *requirement) for requirement in requirements)


# -- field selectors -------------------------------------------------------------------------------
_TERM = re.compile(r"[^\\,]*(?:\\.[^\\,]*)*\\?", re.S)      # up to an unescaped ',' (splitTerms)
_SPLIT = re.compile(r"!=|==|=")                              # splitTerm: leftmost, '!=' then '==' then '='
_ESCAPE = re.compile(r"\\(.?)|[,=]", re.S)


def _terms(text: str) -> list[str]:
    terms, at = [], 0
    while True:
        end = _TERM.match(text, at).end()
        terms.append(text[at:end])
        if end >= len(text):
            return terms
        at = end + 1


def _unescape(value: str) -> str:
    """UnescapeValue: `\\\\`, `\\,` and `\\=` stand for themselves; a bare ',' or '=' is refused."""
    for found in _ESCAPE.finditer(value):
        if not found.group().startswith("\\"):
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(found.group())}")
        if found.group(1) not in ("\\", ",", "="):
            raise SelectorError(f"invalid field selector: invalid escape sequence: {found.group()}")
    return re.sub(r"\\(.)", r"\1", value, flags=re.S)


def field_matcher(text: str | None, allowed: tuple[str, ...]) -> Callable[[dict], bool]:
    """A function object -> bool for a field selector over the dotted paths in `allowed`."""
    _too_long(text or "")
    tests = []
    for term in sorted(_terms(text or "")):
        if not term:
            continue
        split = _SPLIT.search(term)
        if not split:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        tests.append((term[:split.start()], split.group() != "!=", _unescape(term[split.end():])))
    for path, _, _ in tests:
        if path not in allowed:
            raise SelectorError(f"field label not supported: {path}")
    return lambda obj: all((_field(obj, path) == value) == equal for path, equal, value in tests)


def _field(obj: dict, path: str) -> str:
    """The field's value as the server's field sets spell it ('' when absent, 'true'/'false')."""
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, bool):
        return "true" if node else "false"
    return "" if node is None else str(node)
