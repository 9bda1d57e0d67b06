"""Deterministic text for rendered objects: YAML with sorted keys and no anchors, JSON with sorted keys.

`mlinfra render` writes thousands of small YAML documents, and PyYAML spends most of its time in its pure-Python
representer (libyaml only emits). So documents of plain data (dict, list, str, int, float, bool, None; string
keys) are written here directly, in libyaml's block layout; every scalar's text is still PyYAML's (with libyaml
when available): a string is asked for once per process, except strings that are plain by PyYAML's own rules
(`_plain`, checked against PyYAML in tests/unit/test_dump.py). Anything else - another type, a string PyYAML
writes over several lines other than as a `|` block - makes the whole document go through yaml.dump, so the
bytes are always PyYAML's.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

_Base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available


class _Dumper(_Base):  # type: ignore[misc, valid-type]
    """Never writes anchors/aliases (a shared list is written out twice), multi-line strings as blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not value.endswith(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _pyyaml(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=1 << 16, allow_unicode=True)


def to_yaml(obj: Any) -> str:
    """One YAML document, sorted keys, long lines kept whole (PromQL stays readable)."""
    if obj and type(obj) in (dict, list):
        out: list[str] = []
        try:
            (_mapping if type(obj) is dict else _sequence)(obj, "", "", out)
        except (_Fallback, TypeError):  # TypeError: keys sorted() cannot compare (PyYAML then keeps their order)
            return _pyyaml(obj)
        return "".join(out)
    return _pyyaml(obj)


def to_yaml_documents(objects: list[Any]) -> str:
    """A multi-document stream (`---` before each document)."""
    return "".join(f"---\n{to_yaml(obj)}" for obj in objects)


class _Fallback(Exception):
    """The document holds something only yaml.dump writes right."""


# How libyaml writes a one-line printable ASCII string in block context: plain (as is) unless it starts with an
# indicator (`- `, `? `, `: `, `#`, `&`, quotes...; `---` or `...`) or a space, ends in a space or `:`, holds
# `: ` or ` #`, or the resolver reads it as another type (a number, bool, null, date, merge key...); otherwise
# single-quoted. tests/unit/test_dump.py checks both against PyYAML. Longer strings (libyaml folds lines past the
# width) and any other character go through PyYAML.
_ASCII_LINE = re.compile(r"[ -~]{1,60000}").fullmatch
_PLAIN_CHARS = re.compile(r"(?!---|\.\.\.|[-?:](?: |$)|[ #,\[\]{}&*!|>'\"%@`])[ -~]+(?<! )(?<!:)").fullmatch
_RESOLVERS = _Dumper.yaml_implicit_resolvers
_STR_TAG = "tag:yaml.org,2002:str"


def _plain(text: str) -> bool:
    """Whether libyaml writes `text`, one line of printable ASCII, without quotes."""
    if _PLAIN_CHARS(text) is None or ": " in text or " #" in text:
        return False
    for tag, regexp in (*_RESOLVERS.get(text[0], ()), *_RESOLVERS.get(None, ())):
        if regexp.match(text):
            return tag == _STR_TAG
    return True


def _ascii_line(text: str) -> str:
    return text if _plain(text) else "'" + text.replace("'", "''") + "'"


_KEYS: dict[str, str] = {}  # key -> its text as a simple key
_STRINGS: dict[str, str] = {}  # value -> its text; a `|` block ends in "\n", its lines indented by two spaces
_FLOATS: dict[str, str] = {}  # repr -> its text
_BLOCK_INDENT = "\n  "
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")


def _key(key: Any) -> str:
    if type(key) is not str:
        raise _Fallback
    text = _KEYS.get(key)
    if text is None:
        if len(key) < 100 and _ASCII_LINE(key):  # longer keys are no simple keys
            text = _ascii_line(key)
        else:
            dumped = _pyyaml({key: None})
            if not dumped.endswith(": null\n") or dumped.count("\n") != 1:
                raise _Fallback  # a complex key (`? ...`)
            text = dumped[: -len(": null\n")]
        _KEYS[key] = text
    return text


def _string(value: str) -> str:
    text = _STRINGS.get(value)
    if text is None:
        if _ASCII_LINE(value):
            text = _ascii_line(value)
        elif _OTHER_BREAKS.search(value):
            raise _Fallback  # libyaml indents after these too
        else:
            text = _pyyaml({"k": value})[3:]  # after "k: "
            if text.count("\n") == 1:
                text = text[:-1]
            elif not text.startswith("|") or "+" in text[: text.index("\n")]:
                raise _Fallback  # quoted over several lines, or kept trailing newlines (PyYAML then ends with ...)
        _STRINGS[value] = text
    return text


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is float:
        key = repr(value)
        text = _FLOATS.get(key)
        if text is None:
            text = _FLOATS[key] = _pyyaml({"k": value})[3:-1]
        return text
    raise _Fallback


def _node(prefix: str, value: Any, indent: str, out: list[str]) -> None:
    """`value` after `prefix` ("key:" or "-"): a scalar on the same line, a collection on the next lines."""
    kind = type(value)
    if kind is dict:
        if value:
            if prefix[-1] == "-":  # the mapping's first key goes on the dash's line
                _mapping(value, indent + "  ", f"{prefix} ", out)
            else:
                out.append(f"{prefix}\n")
                _mapping(value, indent + "  ", indent + "  ", out)
        else:
            out.append(f"{prefix} {{}}\n")
    elif kind is list:
        if value:
            if prefix[-1] == "-":
                _sequence(value, indent + "  ", f"{prefix} ", out)
            else:  # a sequence in a mapping is not indented
                out.append(f"{prefix}\n")
                _sequence(value, indent, indent, out)
        else:
            out.append(f"{prefix} []\n")
    else:
        text = _scalar(value)
        if text[-1] == "\n":  # a block scalar: lines two spaces in from the collection holding it
            out.append(f"{prefix} {text.replace(_BLOCK_INDENT, _BLOCK_INDENT + indent) if indent else text}")
        else:
            out.append(f"{prefix} {text}\n")


def _mapping(mapping: dict[Any, Any], indent: str, first: str, out: list[str]) -> None:
    """`mapping` at `indent`, its first line starting with `first` instead (a sequence item's dash)."""
    lead = first
    for key in sorted(mapping):
        _node(f"{lead}{_key(key)}:", mapping[key], indent, out)
        lead = indent


def _sequence(items: list[Any], indent: str, first: str, out: list[str]) -> None:
    lead = first
    for item in items:
        _node(f"{lead}-", item, indent, out)
        lead = indent


def to_json(obj: Any) -> str:
    """json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) and a newline.

    With an indent the stdlib encodes in Python generators; this writes plain data three times faster (the
    dashboards), with the stdlib's string encoder, and leaves anything else to json.dumps.
    """
    out: list[str] = []
    try:
        _json(obj, "", out)
    except _Fallback:
        return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    out.append("\n")
    return "".join(out)


_json_string = json.encoder.encode_basestring  # the C encoder when available (ensure_ascii=False)
_INFINITY = float("inf")


def _json(value: Any, indent: str, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_json_string(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = indent + "  "
        separator, next_separator = "{\n" + inner, ",\n" + inner
        for key in sorted(value):
            if type(key) is not str:
                raise _Fallback
            out.append(f"{separator}{_json_string(key)}: ")
            _json(value[key], inner, out)
            separator = next_separator
        out.append(f"\n{indent}}}")
    elif kind is list:
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        separator, next_separator = "[\n" + inner, ",\n" + inner
        for item in value:
            out.append(separator)
            _json(item, inner, out)
            separator = next_separator
        out.append(f"\n{indent}]")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float and -_INFINITY < value < _INFINITY:  # NaN and the infinities: json.dumps' spelling
        out.append(float.__repr__(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    else:
        raise _Fallback
