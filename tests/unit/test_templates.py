"""files.templates: the one jinja2 environment (scaffold templates and the ADR) - strict, newline-exact, no escaping,
gh()/yaml_str - and jinja2 is imported only when an environment is built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlinfra.files.templates import environment


def render(tmp_path: Path, text: str, **variables) -> str:
    (tmp_path / "t.j2").write_text(text, encoding="utf-8")
    return environment(tmp_path).get_template("t.j2").render(**variables)


def test_undefined_variable_is_an_error(tmp_path: Path):
    import jinja2

    with pytest.raises(jinja2.UndefinedError, match="'missing' is undefined"):
        render(tmp_path, "{{ missing }}\n")


def test_newlines_are_exact_and_block_tags_leave_no_blank_lines(tmp_path: Path):
    text = "a:\n{% for x in xs %}\n  - {{ x }}\n{% endfor %}\n"
    assert render(tmp_path, text, xs=[1, 2]) == "a:\n  - 1\n  - 2\n"


def test_no_html_escaping(tmp_path: Path):
    assert render(tmp_path, "{{ v }}", v="<a href='x'>&</a>") == "<a href='x'>&</a>"


def test_gh_expression_and_yaml_string(tmp_path: Path):
    text = 'token: {{ gh("secrets.TOKEN") }}\nname: {{ name | yaml_str }}\n'
    assert render(tmp_path, text, name='a "b": c') == 'token: ${{ secrets.TOKEN }}\nname: "a \\"b\\": c"\n'


def test_extra_filters(tmp_path: Path):
    (tmp_path / "t.j2").write_text("{{ 3 | twice }}")
    assert environment(tmp_path, filters={"twice": lambda v: v * 2}).get_template("t.j2").render() == "6"


def test_import_does_not_load_jinja2():
    code = "import sys, mlinfra.files.templates; print('jinja2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
