"""The API server's rules for names, labels, annotations and images, with its own messages.

Two shapes, both plain data:

- the `Is...` checks (`label_key`, `label_value`, `dns1123_label`, `dns1123_subdomain`) return a
  list of error strings, empty when the value is valid, as apimachinery's do;
- the object checks (`labels`, `annotations`, `image`, `probe`) return a list of causes, each a pair
  (field, message) with the message as the server words it ('Invalid value: "x": ...',
  'Required value', 'Too long: ...'), the shape `status.invalid` takes.

Sources (Kubernetes v1.36, apimachinery v0.36): pkg/api/validate/content/kube.go and dns.go
(label keys and values; the key's DNS prefix), pkg/util/validation/validation.go (DNS-1123 names),
pkg/apis/meta/v1/validation/validation.go (ValidateLabels), pkg/api/validation/objectmeta.go
(ValidateAnnotations), pkg/util/validation/field/errors.go (how a cause is worded) and
kubernetes' pkg/apis/core/validation/validation.go (container images, probes).

Every check is linear in its input: the character classes are matched with single-class
patterns (`[...]*`, which cannot backtrack) and the start and end characters are looked at
directly, instead of upstream's `x([-x]*x)?` regexes.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from ...base import PROBE_ACTIONS

Cause = tuple[str, str]

LABEL_MAX = 63                       # content.LabelValueMaxLength and the key's name part
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
ANNOTATIONS_MAX = 256 * (1 << 10)    # objectmeta.go TotalAnnotationSizeLimitB

LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + LABEL_KEY_FMT + ")?"
DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"

LABEL_KEY_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                 "alphanumeric character")
LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character")
DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                     "must start and end with an alphanumeric character")
DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                         "'.', and must start and end with an alphanumeric character")

_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_LABEL_CHARS = re.compile(r"[-A-Za-z0-9_.]*")
_DNS_CHARS = re.compile(r"[-a-z0-9]*")
# a valid label value, or key without a prefix: the quick answer for the common case
_PLAIN_KEY = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")      # Unicode's Cc
# Go's unicode.IsSpace, which strings.TrimSpace trims (Python's str.isspace also counts \x1c-\x1f)
GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                     "\u200a\u2028\u2029\u202f\u205f\u3000")
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               '"': '\\"', "\\": "\\\\"}


# -- wording (apimachinery's content/errors.go and field/errors.go) --------------------------------
def size(text: str) -> int:
    """Go's len(): bytes of UTF-8, which is what every upstream length limit counts."""
    return len(text.encode("utf-8", "surrogatepass"))


def max_len_error(length: int, unit: str = "bytes") -> str:
    """MaxLenError: content's says bytes, util/validation's (object names) says characters."""
    return f"must be no more than {length} {unit}"


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """RegexError, double space before each 'or' included: "(e.g. 'a',  or 'b', regex ...)"."""
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} ({'e.g. ' + shown if examples else ''}regex used for validation is '{fmt}')"


def quote(text: str) -> str:
    """Go's %q (strconv.Quote), which the server uses to show a bad string value."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:          # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def invalid_value(value: str, detail: str) -> str:
    """field.Invalid's text: 'Invalid value: "value": detail'."""
    return f"Invalid value: {quote(value)}: {detail}"


# -- the character rules, linear ----------------------------------------------------------------
def _edged(value: str, chars: re.Pattern, edges: frozenset) -> bool:
    """Non-empty, every character in `chars`, first and last in `edges`: what the upstream
    regexes `e([-...]*e)?` say, without their backtracking."""
    return bool(value) and value[0] in edges and value[-1] in edges and chars.fullmatch(value) is not None


def _dns1123_subdomain(value: str, unit: str) -> list[str]:
    errors = [max_len_error(DNS1123_SUBDOMAIN_MAX, unit)] if size(value) > DNS1123_SUBDOMAIN_MAX else []
    if not all(_edged(part, _DNS_CHARS, _LOWER_ALNUM) for part in value.split(".")):
        errors.append(regex_error(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def dns1123_subdomain(value: str) -> list[str]:
    """IsDNS1123Subdomain (util/validation/validation.go): object names such as a Deployment's."""
    return _dns1123_subdomain(value, "characters")


def dns1123_label(value: str) -> list[str]:
    """IsDNS1123Label (util/validation/validation.go): namespace, container and port names."""
    errors = [max_len_error(DNS1123_LABEL_MAX, "characters")] if size(value) > DNS1123_LABEL_MAX else []
    if not _edged(value, _DNS_CHARS, _LOWER_ALNUM):
        dotted = all(_edged(part, _DNS_CHARS, _LOWER_ALNUM) for part in value.split("."))
        errors.append("must not contain dots" if dotted else
                      regex_error(DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errors


def label_key(key: str) -> list[str]:
    """IsLabelKey, alias IsQualifiedName (content/kube.go): an optional DNS-1123 subdomain
    prefix and '/', then a name of at most 63 bytes."""
    if _PLAIN_KEY.fullmatch(key):
        return []
    name_rule = regex_error(LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
    parts = key.split("/")
    if len(parts) > 2:
        return [f"a valid label key {name_rule} with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    errors = []
    if len(parts) == 2:
        prefix = parts[0]
        errors += ["prefix part must be non-empty"] if not prefix else \
            ["prefix part " + message for message in _dns1123_subdomain(prefix, "bytes")]
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif size(name) > LABEL_MAX:
        errors.append("name part " + max_len_error(LABEL_MAX))
    if not _edged(name, _LABEL_CHARS, _ALNUM):
        errors.append("name part " + name_rule)
    return errors


def label_value(value: str) -> list[str]:
    """IsLabelValue, alias IsValidLabelValue (content/kube.go): empty, or at most 63 bytes of
    alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric."""
    if not value or _PLAIN_KEY.fullmatch(value):
        return []
    errors = [max_len_error(LABEL_MAX)] if size(value) > LABEL_MAX else []
    if not _edged(value, _LABEL_CHARS, _ALNUM):
        errors.append(regex_error(LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


# -- object checks: lists of (field, message) causes --------------------------------------------
def _text(value: object) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def labels(mapping: Mapping | None, field_path: str = "metadata.labels") -> list[Cause]:
    """ValidateLabels (apis/meta/v1/validation/validation.go): every key a label key, every
    value a label value; each fault an Invalid cause on `field_path` itself, as upstream."""
    causes = []
    for key, value in (mapping or {}).items():
        key, value = _text(key), _text(value)
        causes += [(field_path, invalid_value(key, message)) for message in label_key(key)]
        causes += [(field_path, invalid_value(value, message)) for message in label_value(value)]
    return causes


def annotations(mapping: Mapping | None, field_path: str = "metadata.annotations") -> list[Cause]:
    """ValidateAnnotations (api/validation/objectmeta.go): keys are label keys once lower-cased
    (case does not matter), and keys and values together hold at most 256 KiB."""
    causes, total = [], 0
    for key, value in (mapping or {}).items():
        key, value = _text(key), _text(value)
        causes += [(field_path, invalid_value(key, message)) for message in label_key(key.lower())]
        total += size(key) + size(value)
    if total > ANNOTATIONS_MAX:
        causes.append((field_path, f"Too long: may not be more than {ANNOTATIONS_MAX} bytes"))
    return causes


def image(value: object, field_path: str, pod: bool = True) -> list[Cause]:
    """A container's image (core/validation/validation.go): required (validateContainerCommon),
    and in a pod, though not in a pod template, without leading or trailing whitespace
    (validateContainerOnlyForPod; templates keep " " for tools that fill the image in later).

    Upstream checks nothing more; the rest is labkit's stricter rule: no control characters and
    nothing but ASCII, since kubelet could never pull such a reference (the pod would only sit
    in InvalidImageName)."""
    text = _text(value)
    if not text:
        return [(field_path, "Required value")]
    causes = []
    if pod and (text[0] in GO_SPACE or text[-1] in GO_SPACE):
        causes.append((field_path, invalid_value(text, "must not have leading or trailing whitespace")))
    if _CONTROL.search(_strip(text, pod)):
        causes.append((field_path, invalid_value(text, "must not contain control characters")))
    elif not text.isascii():
        causes.append((field_path, invalid_value(text, "must contain only ASCII characters")))
    return causes


def _strip(text: str, pod: bool) -> str:
    """The characters labkit's own rule judges: in a pod, whitespace at the ends is already
    refused by upstream's rule and is not told twice."""
    if not pod:
        return text
    start, end = 0, len(text)
    while start < end and text[start] in GO_SPACE:
        start += 1
    while end > start and text[end - 1] in GO_SPACE:
        end -= 1
    return text[start:end]


def probe(value: Any, path: str) -> list[Cause]:
    """pkg/apis/core/validation's validateProbe: one handler, no negative numbers."""
    if not isinstance(value, dict):
        return [(path, f"Invalid value: {value!r}: must be an object")]
    handlers = [k for k in PROBE_ACTIONS if k in value]
    causes = []
    if not handlers:
        causes.append((path, "Required value: must specify a handler type"))
    elif len(handlers) > 1:
        causes.append((f"{path}.{handlers[1]}", "Forbidden: may not specify more than 1 handler type"))
    for field in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        number = value.get(field, 0)
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            causes.append((f"{path}.{field}", f"Invalid value: {number}: must be greater than or equal to 0"))
    return causes
