"""Selectors and the object rules of the served API, against apimachinery's own cases.

Label selectors as pkg/labels/selector.go parses them, field selectors as pkg/fields/selector.go
does, and validation.py's label, annotation and image rules with the examples of upstream's
tests (content/kube_test.go). The timing tests guard against catastrophic backtracking: a
selector of any shape is parsed or refused quickly (issue #22: `a`, 65,400 spaces and `!` once
took 61 s inside the API lock).
"""
from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.backends.sim.kube import selectors, validation
from labkit.backends.sim.kube.patch import SelectorError, field_matcher, label_matcher
from labkit.backends.sim.kube.selectors import MAX_QUERY

LABEL_RULE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
              "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
              "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
NAME_RULE = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def refusal(selector: str) -> str:
    with pytest.raises(SelectorError) as caught:
        label_matcher(selector)
    return str(caught.value)


def quickly(parse, text: str, seconds: float = 2.0) -> None:
    """`parse(text)` returns or raises SelectorError within `seconds` (a bound for runaway
    backtracking, not a benchmark)."""
    started = time.perf_counter()
    try:
        parse(text)
    except SelectorError:
        pass
    assert time.perf_counter() - started < seconds, f"{len(text)} characters took too long"


# -- label selectors: what matches ------------------------------------------------------------------
@pytest.mark.parametrize("selector, labels, matches", [
    ("", {}, True),
    (None, {"a": "b"}, True),
    ("app=web", {"app": "web"}, True),
    ("app==web", {"app": "web", "x": "y"}, True),
    ("app=web", {"app": "api"}, False),
    ("app=web", None, False),
    ("app!=web", {}, True),
    ("app!=web", {"app": "web"}, False),
    ("app=", {"app": ""}, True),
    ("app=", {}, False),
    ("app in (web, api),tier", {"app": "api", "tier": "front"}, True),
    ("app in (web, api),tier", {"app": "api"}, False),
    ("app notin (web)", {"app": "api"}, True),
    ("app notin (web)", {}, True),
    ("app notin (web)", {"app": "web"}, False),
    ("!canary", {"canary": "yes"}, False),
    ("!canary,app=web", {"app": "web"}, True),
    ("tier", {"tier": ""}, True),
    ("example.com/tier=Front_1", {"example.com/tier": "Front_1"}, True),
    ("  app = web ,\ttier\n", {"app": "web", "tier": "x"}, True),        # blanks around every token
    ("app in(web,api)", {"app": "web"}, True),
    ("app in ( web , api )", {"app": "api"}, True),
    ("app notin(web)", {"app": "web"}, False),
    ("x in (a,,b)", {"x": ""}, True),                                   # ',,' stands for ''
    ("x in (a,,b)", {"x": "c"}, False),
    ("x in ()", {"x": ""}, True),
    ("x in (,a)", {"x": ""}, True),
    ("x in (a,)", {"x": ""}, True),
    ("in in (in, notin)", {"in": "notin"}, True),                       # keywords as key and values
    ("notin", {"notin": "x"}, True),
    ("replicas>2", {"replicas": "3"}, True),
    ("replicas>2", {"replicas": "2"}, False),
    ("replicas>2", {"replicas": "many"}, False),
    ("replicas>2", {}, False),
    ("replicas<10", {"replicas": "-4"}, True),
    ("replicas<10", {"replicas": "007"}, True),
    ("a,a,a", {"a": "1"}, True),
])
def test_label_selectors(selector, labels, matches):
    assert label_matcher(selector)(labels) is matches


# -- label selectors: what the server refuses, in its words ----------------------------------------
@pytest.mark.parametrize("selector, message", [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("app===", "unable to parse requirement: found '=', expected: identifier"),
    ("=web", "found '=', expected: !, identifier, or 'end of string'"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("a,,b", "found ',', expected: identifier after ','"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("!app=web", "found '=', expected: ',' or 'end of string'"),
    ("app=web tier", "found 'tier', expected: ',' or 'end of string'"),
    ("app=bad value", "found 'value', expected: ',' or 'end of string'"),
    ("app in web", "unable to parse requirement: found 'web' expected: '('"),
    ("app in", "unable to parse requirement: found '' expected: '('"),
    ("app in (web", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("app in (web api)", "unable to parse requirement: found 'api', expected: ',' or ')'"),
    ("app in (web,", "unable to parse requirement: found '', expected: ',', or identifier"),
    ("app in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("app=(", "unable to parse requirement: found '(', expected: identifier"),
    ("a" + " " * 65400 + "!", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"),
    ("x>abc", "unable to parse requirement: values[0]: Invalid value: \"abc\": for 'Gt', 'Lt' operators, "
              "the value must be an integer"),
    ("-bad", f'unable to parse requirement: <nil>: Invalid value: "-bad": {NAME_RULE}'),
    ("app=-web", f'unable to parse requirement: values[0][app]: Invalid value: "-web": {LABEL_RULE}'),
    ("app=" + "v" * 64, f'unable to parse requirement: values[0][app]: Invalid value: "{"v" * 64}": '
                        "must be no more than 63 bytes"),
    ("app=-" + "v" * 63, f'unable to parse requirement: values[0][app]: Invalid value: "-{"v" * 63}": '
                         f"must be no more than 63 bytes; {LABEL_RULE}"),
    ("x notin (-a,b_)", f'unable to parse requirement: [values[0][x]: Invalid value: "-a": {LABEL_RULE}, '
                        f'values[1][x]: Invalid value: "b_": {LABEL_RULE}]'),
    ("app=wéb", f'unable to parse requirement: values[0][app]: Invalid value: "wéb": {LABEL_RULE}'),
    ("app=w\x07b", f'unable to parse requirement: values[0][app]: Invalid value: "w\\ab": {LABEL_RULE}'),
    ("a\x00 b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
], ids=lambda value: repr(value)[:40])                                   # one holds 65,400 spaces
def test_bad_label_selectors_get_the_servers_words(selector, message):
    assert refusal(selector) == message


@pytest.mark.parametrize("key", ["a/b/c", "Example.com/x", "example_com/x", "/x", "x/", "a" * 64, "ké", "a\x01"])
def test_a_selector_key_must_be_a_label_key(key):
    expected = f"unable to parse requirement: <nil>: Invalid value: {validation.quote(key)}: "
    assert refusal(f"{key}=v").startswith(expected)


def test_a_nul_ends_the_selector_as_in_the_go_lexer():
    """Lexer.read answers 0 at the end of the text, so a NUL where a token starts ends it; one
    right after a token is swallowed with it."""
    assert label_matcher("app=web \x00 ,garbage((")({"app": "web"}) is True
    assert label_matcher("app \x00 ((")({"app": "x"}) is True
    assert label_matcher("app=web\x00,tier")({"app": "web"}) is False


# -- label selectors: bounded time ------------------------------------------------------------------
HUGE_LABEL_SELECTORS = {
    "issue-22": lambda: "a" + " " * 65400 + "!",              # the fuzzer's find: 61 s of backtracking
    "spaces-1MB": lambda: "a" + " " * 1_000_000 + "!",
    "tabs-1MB": lambda: "a" + "\t" * 1_000_000 + "=",
    "one-key-1MB": lambda: "a" * 1_000_000,
    "values-262k": lambda: "a in (" + "b," * 262_000 + "b)",
    "commas-349k": lambda: "a in (" + "," * 349_000 + ")",
    "requirements-262k": lambda: ",".join(["a"] * 262_000),      # just under the limit: parsed
    "keys-100k": lambda: ",".join(f"k{i}" for i in range(100_000)),
    "requirements-1MiB": lambda: ",".join(["a"] * 524_288),      # 2 MiB in the URL: refused
    "parens-1MB": lambda: "(" * 1_000_000,
    "equals-1MB": lambda: "=" * 1_000_000,
    "bangs-1MB": lambda: "!" * 1_000_000,
}


@pytest.mark.parametrize("make", list(HUGE_LABEL_SELECTORS.values()), ids=list(HUGE_LABEL_SELECTORS))
def test_any_selector_is_parsed_or_refused_quickly(make):
    quickly(label_matcher, make())


def test_a_selector_too_long_for_a_request_is_refused_unread():
    assert "Request Header Fields Too Large" in refusal(",".join(["a"] * 524_288))
    assert "Request Header Fields Too Large" in refusal("é" * (MAX_QUERY // 6 + 1))
    assert label_matcher("a" * 30 + "=" + "b" * 30)({"a" * 30: "b" * 30})


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab.-_/=!(),<> \t\n\x00\\é9")) | st.characters(), max_size=200)
       .map(lambda s: s.replace("in", " in ")))
def test_any_text_makes_a_matcher_or_a_selector_error(text):
    started = time.perf_counter()
    try:
        match = label_matcher(text)
    except SelectorError:
        pass
    else:
        assert match({"a": "b", "ab": "9"}) in (True, False)
    assert time.perf_counter() - started < 1


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab.=!,\\ \x00é")) | st.characters(), max_size=200))
def test_any_text_makes_a_field_matcher_or_a_selector_error(text):
    started = time.perf_counter()
    try:
        match = field_matcher(text, ("a", "a.b", "b"))
    except SelectorError:
        pass
    else:
        assert match({"a": {"b": "x"}}) in (True, False)
    assert time.perf_counter() - started < 1


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["", "!"]), st.sampled_from(["a", "b", "x.io/c", "in", "-", "A_1"]),
                          st.sampled_from(["", "=", "==", "!=", "<", ">"]),
                          st.sampled_from(["", "v", "7", "-1", "in", "x y"])), min_size=1, max_size=6))
def test_the_quick_reading_of_plain_selectors_agrees_with_the_parser(parts):
    """Selectors without blanks or parentheses take a shortcut; it must mean what the parser
    reads, and leave every fault to the parser's wording."""
    text = ",".join(negated + key + (operator + value if operator else "") for negated, key, operator, value in parts)
    quick = selectors._plain(text)
    try:
        parsed = set(selectors._parse(text))
    except SelectorError:
        assert quick is None
    else:
        assert quick is None or set(quick) == parsed


def test_blanks_do_not_change_a_selector():
    labels = {"app": "web", "tier": "db", "n": "3"}
    for plain, spaced in [("app=web,tier!=db", " app = web , tier != db "), ("!canary,n>2", "! canary , n > 2"),
                          ("app==web,tier", "app == web ,\ttier")]:
        assert label_matcher(plain)(labels) is label_matcher(spaced)(labels)
        assert set(selectors._plain(plain)) == set(selectors._parse(spaced))


# -- field selectors --------------------------------------------------------------------------------
POD = {"metadata": {"name": "web-1", "namespace": "default"}, "spec": {"nodeName": "node-1", "unschedulable": True},
       "status": {"phase": "Running"}}
ALLOWED = ("metadata.name", "metadata.namespace", "spec.nodeName", "status.phase", "spec.unschedulable")


@pytest.mark.parametrize("selector, matches", [
    ("", True),
    (None, True),
    ("metadata.name=web-1", True),
    ("metadata.name==web-1", True),
    ("metadata.name!=web-1", False),
    ("spec.nodeName=node-1,status.phase!=Pending", True),
    ("spec.nodeName=node-1,status.phase=Pending", False),
    ("spec.nodeName=", False),
    ("status.phase!=", True),
    ("spec.unschedulable=true", True),
    ("metadata.name=web-1,", True),
    ("metadata.namespace=default,,metadata.name=web-1", True),
])
def test_field_selectors(selector, matches):
    assert field_matcher(selector, ALLOWED)(POD) is matches


def test_field_selector_values_unescape():
    pod = {"metadata": {"name": "a,b=c\\d"}}
    assert field_matcher("metadata.name=a\\,b\\=c\\\\d", ("metadata.name",))(pod)
    assert not field_matcher("metadata.name!=a\\,b\\=c\\\\d", ("metadata.name",))(pod)


@pytest.mark.parametrize("selector, message", [
    ("spec.image=x", "field label not supported: spec.image"),
    ("metadata.name = web", "field label not supported: metadata.name "),   # no blanks are trimmed
    ("=web", "field label not supported: "),
    ("web", "invalid selector: 'web'; can't understand 'web'"),
    ("metadata.name=web,zzz", "invalid selector: 'metadata.name=web,zzz'; can't understand 'zzz'"),
    ("metadata.name=a=b", "invalid field selector: unescaped character in value: 61"),
    ("metadata.name===b", "invalid field selector: unescaped character in value: 61"),
    ("metadata.name=a\\q", "invalid field selector: invalid escape sequence: \\q"),
    ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"),
    ("zz=1,aa=1", "field label not supported: aa"),                          # terms are sorted first
])
def test_bad_field_selectors_get_the_servers_words(selector, message):
    with pytest.raises(SelectorError) as caught:
        field_matcher(selector, ALLOWED)
    assert str(caught.value) == message


HUGE_FIELD_SELECTORS = {
    "backslashes-1MB": lambda: "metadata.name=" + "\\" * 1_000_000,
    "escaped-commas-300k": lambda: "metadata.name=" + "\\," * 300_000,
    "terms-60k": lambda: ",".join(["metadata.name=x"] * 60_000),
    "commas-1MB": lambda: "," * 1_000_000,
    "no-operator-1MB": lambda: "a" * 1_000_000 + "!",
}


@pytest.mark.parametrize("make", list(HUGE_FIELD_SELECTORS.values()), ids=list(HUGE_FIELD_SELECTORS))
def test_any_field_selector_is_parsed_or_refused_quickly(make):
    quickly(lambda text: field_matcher(text, ALLOWED), make())


# -- validation: label keys and values (content/kube_test.go's cases) -------------------------------
GOOD_KEYS = ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now-with-dashes/simple",
             "now-with-dashes/now-with-dashes", "now.with.dots/simple", "now-with.dashes-and.dots/simple",
             "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678", "Uppercase_Is_OK_123",
             "example.com/Uppercase_Is_OK_123", "requests.storage-foo", "a" * 63, "a" * 253 + "/" + "b" * 63]
BAD_KEYS = ["nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash", "Example.com/abc",
            "example_com/abc", "example.com/", "/simple", "a" * 64, "a" * 254 + "/abc",
            "", "tab\tkey", "ключ", "a\x7f"]
GOOD_VALUES = ["simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "a" * 63, ""]
BAD_VALUES = ["nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun", "\\backslashes\\are\\bad", "-starts-with-dash",
              "ends-with-dash-", ".starts.with.dot", "ends.with.dot.", "a" * 64, "bad value", "nul\x00", "é"]


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_good_label_keys(key):
    assert validation.label_key(key) == []


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_label_keys(key):
    assert validation.label_key(key)


@pytest.mark.parametrize("value", GOOD_VALUES)
def test_good_label_values(value):
    assert validation.label_value(value) == []


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_label_values(value):
    assert validation.label_value(value)


@pytest.mark.parametrize("key, errors", [
    ("example.com/", ["name part must be non-empty", NAME_RULE]),
    ("/simple", ["prefix part must be non-empty"]),
    ("a" * 64, ["name part must be no more than 63 bytes"]),
    ("a" * 254 + "/abc", ["prefix part must be no more than 253 bytes"]),
    ("a/b/c", ["a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
               "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
               "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
               "(e.g. 'example.com/MyName')"]),
    ("Example.com/x", ["prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                       "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
                       "'example.com', regex used for validation is "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"]),
])
def test_label_key_messages(key, errors):
    assert validation.label_key(key) == errors


def test_lengths_are_bytes_as_in_go():
    assert validation.label_value("a" * 63) == [] and validation.label_key("a" * 63) == []
    assert validation.label_value("é" * 32)[0] == "must be no more than 63 bytes"


def test_dns1123_names():
    assert validation.dns1123_label("my-name") == [] and validation.dns1123_subdomain("example.com") == []
    assert validation.dns1123_label("a.b") == ["must not contain dots"]
    assert validation.dns1123_label("a" * 64) == ["must be no more than 63 characters"]
    assert validation.dns1123_label("My-Name")[0].startswith("a lowercase RFC 1123 label must consist")
    assert validation.dns1123_subdomain("a" * 254) == ["must be no more than 253 characters"]
    assert validation.dns1123_subdomain("a..b")[0].startswith("a lowercase RFC 1123 subdomain must consist")


def test_labels_are_told_as_causes():
    assert validation.labels({"app": "web", "example.com/tier": ""}) == []
    assert validation.labels({"app": "bad value"}) == [("metadata.labels", f'Invalid value: "bad value": {LABEL_RULE}')]
    assert validation.labels({"bad key": "x"}, "spec.template.metadata.labels") == [
        ("spec.template.metadata.labels", f'Invalid value: "bad key": {NAME_RULE}')]
    assert validation.labels({"app": "tab\there"}) == [
        ("metadata.labels", f'Invalid value: "tab\\there": {LABEL_RULE}')]
    assert validation.labels({"app": "ünï"}) == [("metadata.labels", f'Invalid value: "ünï": {LABEL_RULE}')]
    assert validation.labels(None) == []


def test_annotations_keys_ignore_case_and_the_total_is_bounded():
    assert validation.annotations({"Example.com/Some-Key": "any value at all\n\tthat fits"}) == []
    assert validation.annotations({"bad key": "x"}) == [
        ("metadata.annotations", f'Invalid value: "bad key": {NAME_RULE}')]
    assert validation.annotations({"ctl\x1bkey": "x"})[0][1].startswith('Invalid value: "ctl\\x1bkey": name part')
    assert validation.annotations({"clé": "x"})[0][1].startswith('Invalid value: "clé": name part')
    assert validation.annotations({"a": "x" * (256 * 1024 - 1)}) == []
    assert validation.annotations({"a": "x" * (256 * 1024)}) == [
        ("metadata.annotations", "Too long: may not be more than 262144 bytes")]
    assert validation.annotations({"a": "é" * (128 * 1024)}) != []                 # bytes, not characters


@pytest.mark.parametrize("image, pod, causes", [
    ("nginx:1.27", True, []),
    ("registry.example.com:5000/team/app@sha256:" + "a" * 64, True, []),
    ("", True, [("f", "Required value")]),
    (None, False, [("f", "Required value")]),
    (" nginx", True, [("f", 'Invalid value: " nginx": must not have leading or trailing whitespace')]),
    ("nginx ", True, [("f", 'Invalid value: "nginx ": must not have leading or trailing whitespace')]),
    ("nginx\n", True, [("f", 'Invalid value: "nginx\\n": must not have leading or trailing whitespace')]),
    (" nginx", False, []),                         # a template may keep blanks, as upstream allows
    ("ng\x00inx", True, [("f", 'Invalid value: "ng\\x00inx": must not contain control characters')]),
    ("nginx\n", False, [("f", 'Invalid value: "nginx\\n": must not contain control characters')]),
    ("ngïnx", True, [("f", 'Invalid value: "ngïnx": must contain only ASCII characters')]),
    ("nginx\u200b", True, [("f", 'Invalid value: "nginx\\u200b": must contain only ASCII characters')]),
])
def test_images(image, pod, causes):
    assert validation.image(image, "f", pod=pod) == causes


def test_values_are_shown_as_go_quotes_them():
    assert validation.quote('a"b\\c') == '"a\\"b\\\\c"'
    assert validation.quote("\x00\x7f\t\u200bé😀") == '"\\x00\\x7f\\t\\u200bé😀"'
