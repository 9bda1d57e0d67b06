"""Deterministic text for rendered objects: YAML with sorted keys and no anchors, JSON with sorted keys."""

from __future__ import annotations

import json
from typing import Any

import yaml

_Base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available: 100 models x 3 envs stay fast


class _Dumper(_Base):  # type: ignore[misc, valid-type]
    """Never writes anchors/aliases (a shared list is written out twice), multi-line strings as blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not value.endswith(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    """One YAML document, sorted keys, long lines kept whole (PromQL stays readable)."""
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=1 << 16, allow_unicode=True)


def to_yaml_documents(objects: list[Any]) -> str:
    """A multi-document stream (`---` before each document)."""
    return "".join(f"---\n{to_yaml(obj)}" for obj in objects)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
