"""Deterministic text for rendered objects: YAML with sorted keys and no anchors, JSON with sorted keys.

`mlinfra render` writes about a thousand YAML documents per environment, and PyYAML spends most of its time in its
pure-Python representer (libyaml only emits). So documents of plain data (dict, list, str, int, float, bool, None;
string keys) are written here directly, in libyaml's block layout, and every scalar gets the text PyYAML (with
libyaml) gives it: printable ASCII strings by the rules libyaml applies (plain, single-quoted or a `|` block),
anything else asked of PyYAML once per process. A document holding something else - another type, a string
PyYAML writes over several lines other than as a `|` block - goes through yaml.dump whole. tests/unit/test_dump.py
checks the bytes against PyYAML's with hypothesis.
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
_LINES: dict[str, str] = {}  # value -> its text on one line, with the newline
_BLOCKS: dict[str, str] = {}  # value -> PyYAML's `|` block, lines indented by two spaces, for a collection at column 0
_FLOATS: dict[str, str] = {}  # repr -> its text with the newline
_BLOCK_INDENT = "\n  "
_OTHER_BREAKS = re.compile("[\r\x85\u2028\u2029]")
_ASCII_TEXT = re.compile(r"[ -~\n]*").fullmatch
_LINE_STARTS = re.compile(r"\n(?=[^\n])")


def _key(key: Any) -> str:
    if type(key) is not str:
        raise _Fallback
    if len(key) < 100 and _ASCII_LINE(key):  # longer keys are no simple keys
        text = _ascii_line(key)
    else:
        dumped = _pyyaml({key: None})
        if not dumped.endswith(": null\n") or dumped.count("\n") != 1:
            raise _Fallback  # a complex key (`? ...`)
        text = dumped[: -len(": null\n")]
    _KEYS[key] = text
    return text


def _literal(value: str) -> bool:
    """Whether libyaml writes `value` as a literal block without asking (the representer picks `|` for it):
    several lines of printable ASCII, none ending in a space, not ending in two newlines (`|+`, after which
    PyYAML writes `...`)."""
    return (
        "\n" in value
        and value[-1] != " "
        and " \n" not in value
        and not value.endswith("\n\n")
        and value != "\n"
        and _ASCII_TEXT(value) is not None
    )


def _string(value: str, indent: str) -> str:
    """`value`'s text with its newline, a block's lines two spaces in from `indent` (its collection's)."""
    block = _BLOCKS.get(value)
    if block is None:
        if _ASCII_LINE(value):
            text = _LINES[value] = _ascii_line(value) + "\n"
            return text
        if _literal(value):  # written where it is, in one pass (a dashboard is seen once)
            hints = ("2" if value[0] in " \n" else "") + ("" if value[-1] == "\n" else "-")
            start = _BLOCK_INDENT + indent
            if "\n\n" in value or value[0] == "\n":
                lines = _LINE_STARTS.sub(start, "\n" + value)  # empty lines stay empty
            else:  # the dashboards: no empty line
                lines = ("\n" + value).replace("\n", start)
                lines = lines[: -len(start) + 1] if value[-1] == "\n" else lines
            return f"|{hints}{lines}" if value[-1] == "\n" else f"|{hints}{lines}\n"
        if _OTHER_BREAKS.search(value):
            raise _Fallback  # libyaml indents after these too
        text = _pyyaml({"k": value})[3:]  # after "k: "
        if text.count("\n") == 1:
            _LINES[value] = text
            return text
        if not text.startswith("|") or "+" in text[: text.index("\n")]:
            raise _Fallback  # quoted over several lines, or kept trailing newlines (PyYAML then ends with ...)
        block = _BLOCKS[value] = text
    return block.replace(_BLOCK_INDENT, _BLOCK_INDENT + indent) if indent else block


def _scalar(value: Any, indent: str) -> str:
    """Any scalar's text with its newline."""
    kind = type(value)
    if kind is str:
        return _LINES.get(value) or _string(value, indent)
    if kind is int:
        return f"{value}\n"
    if kind is bool:
        return "true\n" if value else "false\n"
    if value is None:
        return "null\n"
    if kind is float:
        key = repr(value)
        text = _FLOATS.get(key)
        if text is None:
            text = _FLOATS[key] = _pyyaml({"k": value})[3:]
        return text
    raise _Fallback


def _mapping(mapping: dict[Any, Any], indent: str, lead: str, out: list[str]) -> None:
    """`mapping`'s lines at `indent`, the first starting with `lead` instead (a sequence item's dash)."""
    inner = indent + "  "
    for key in sorted(mapping):
        name = _KEYS.get(key) or _key(key)
        value = mapping[key]
        kind = type(value)
        if kind is str:
            out.append(f"{lead}{name}: {_LINES.get(value) or _string(value, indent)}")
        elif kind is dict:
            if value:
                out.append(f"{lead}{name}:\n")
                _mapping(value, inner, inner, out)
            else:
                out.append(f"{lead}{name}: {{}}\n")
        elif kind is list:
            if value:  # a sequence in a mapping is not indented
                out.append(f"{lead}{name}:\n")
                _sequence(value, indent, indent, out)
            else:
                out.append(f"{lead}{name}: []\n")
        else:
            out.append(f"{lead}{name}: {_scalar(value, indent)}")
        lead = indent


def _sequence(items: list[Any], indent: str, lead: str, out: list[str]) -> None:
    """`items`' lines at `indent`, the first starting with `lead` instead (an outer sequence item's dash)."""
    inner = indent + "  "
    for item in items:
        kind = type(item)
        if kind is dict and item:  # the mapping's first key goes on the dash's line
            _mapping(item, inner, f"{lead}- ", out)
        elif kind is list and item:
            _sequence(item, inner, f"{lead}- ", out)
        elif kind is dict:
            out.append(f"{lead}- {{}}\n")
        elif kind is list:
            out.append(f"{lead}- []\n")
        else:
            out.append(f"{lead}- {_scalar(item, indent)}")
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
