"""files/dump.py writes YAML and JSON itself for speed; its bytes must be exactly PyYAML's and json.dumps'."""

from __future__ import annotations

import enum
import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlinfra.files.dump import _pyyaml, to_json, to_yaml, to_yaml_documents

# Characters that steer PyYAML's choice of style: indicators, quotes, spaces, line breaks, tabs, non-ASCII,
# and the starts of numbers, dates, bools and nulls.
TRICKY = "aZy0159_-.:?#,[]{}&*!|>'\"%@`~=<+ \n\t/\\()$^;é\u2028\x85\x07"
texts = st.one_of(
    st.text(alphabet=TRICKY, max_size=12),
    st.text(alphabet="ab :#-'\n", min_size=1, max_size=15),  # the literal blocks dump.py writes itself
    st.sampled_from(["", "true", "No", "null", "~", "1", "0x1F", "1e3", "-1.5", "1:20", "2024-01-02", "<<", "=",
                     "---", "...", "- a", "a: b", "a #b", "a#b", ".inf", "a\n", "a\nb", " a\nb", "a\n\n", "a\nb "]),
    st.text(max_size=20),
)
scalars = st.one_of(texts, st.integers(), st.floats(), st.booleans(), st.none())
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=25,
)


def _reference_json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@settings(max_examples=600, deadline=None)
@given(documents)
def test_yaml_is_pyyamls(obj):
    assert to_yaml(obj) == _pyyaml(obj)


@settings(max_examples=600, deadline=None)
@given(st.lists(texts, min_size=1, max_size=3))
def test_strings_as_keys_values_and_items_are_pyyamls(values):
    document = {"outer": {value: [value, {"inner": value}] for value in values}}
    assert to_yaml(document) == _pyyaml(document)
    assert to_yaml({value: 1 for value in values}) == _pyyaml({value: 1 for value in values})


@pytest.mark.parametrize(
    ("text", "written"),
    [
        pytest.param("sum(rate(x{a=\"b\"}[5m])) > 0.5", 'sum(rate(x{a="b"}[5m])) > 0.5\n', id="promql-plain"),
        pytest.param("8080", "'8080'\n", id="number-quoted"),
        pytest.param("4Gi", "4Gi\n", id="quantity-plain"),
        pytest.param("yes", "'yes'\n", id="bool-word-quoted"),
        pytest.param("{{ $value }}: it's", "'{{ $value }}: it''s'\n", id="indicator-single-quoted"),
        pytest.param("a\tb", '"a\\tb"\n', id="tab-double-quoted"),
        pytest.param("line 1\nline 2\n", "|\n  line 1\n  line 2\n", id="block"),
        pytest.param("line 1\n\n line 2", "|-\n  line 1\n\n   line 2\n", id="block-stripped"),
        pytest.param("\n line 2\n", "|2\n\n   line 2\n", id="block-indent-hint"),
    ],
)
def test_string_styles(text, written):
    assert to_yaml({"k": text}) == _pyyaml({"k": text}) == f"k: {written}"


def test_block_scalars_are_indented_under_their_collection():
    document = {"a": {"b": ["x\ny\n", {"c": "p\n\nq"}]}}
    assert to_yaml(document) == "a:\n  b:\n  - |\n    x\n    y\n  - c: |-\n      p\n\n      q\n"
    assert to_yaml(document) == _pyyaml(document)


def test_no_anchors_for_shared_objects_and_documents_start_with_dashes():
    shared = {"k": [1, 2]}
    text = to_yaml_documents([{"a": shared, "b": shared}, {"c": []}])
    assert text == "---\na:\n  k:\n  - 1\n  - 2\nb:\n  k:\n  - 1\n  - 2\n---\nc: []\n"


def test_kept_trailing_newlines_and_long_lines_go_through_pyyaml():
    for document in ({"k": "a\n\n", "j": 1}, {"k": "word " * 20000}, {"k" * 200: 1}):
        assert to_yaml(document) == _pyyaml(document)


class Colour(str, enum.Enum):
    RED = "red"


def test_other_types_go_through_pyyaml():
    assert to_yaml({"k": (1, 2)}) == _pyyaml({"k": (1, 2)}) == "k:\n- 1\n- 2\n"
    with pytest.raises(yaml.representer.RepresenterError):  # a str subclass: PyYAML's safe dumper refuses it
        to_yaml({"k": Colour.RED})


@settings(max_examples=300, deadline=None)
@given(documents)
def test_json_is_json_dumps(obj):
    assert to_json(obj) == _reference_json(obj)


def test_json_leaves_other_types_and_keys_to_json_dumps():
    for obj in ({1: "a", 2: [3]}, [(1, 2)], {"nan": float("nan"), "inf": [float("-inf")]}):
        assert to_json(obj) == _reference_json(obj)
