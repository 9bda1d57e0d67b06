"""`calibrate --write`: record models[].capacity in the profile file, changing nothing else in it.

The file is edited as text, not re-dumped, so comments, key order, quoting and layout stay as the user wrote them:
the model's entry gets one line `capacity: {...}` (a flow mapping), or its existing capacity is replaced in place.
Before anything is written, the edited text is parsed and validated: it must load as a profile, hold exactly the
new capacity for the model and be otherwise equal to the file as read. The file is replaced atomically (a
temporary file in the same directory, then a rename, keeping its permissions), and only if it still holds what
calibrate read at its start.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from mlinfra.calibration.server import CalibrationError
from mlinfra.profiles.load import ProfileError, parse_yaml, profile_from_data

FIELDS = ("rps_per_replica", "concurrency", "p95_ms", "measured_on", "cpu", "cores", "runtime")


def capacity_yaml(capacity: dict[str, Any]) -> str:
    """`{rps_per_replica: 412.5, ..., runtime: "mlserver 1.7.1"}`: one line, fields in schema order."""
    parts = []
    for key in FIELDS:
        value = capacity[key]
        if isinstance(value, dt.date):  # quoted: a string to YAML 1.2 and JSON Schema (format: date) alike
            text = json.dumps(value.isoformat())
        elif isinstance(value, str):
            text = json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
        else:
            text = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(f"{key}: {text}")
    return "{" + ", ".join(parts) + "}"


def _value(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def _last_leaf(node: yaml.Node) -> yaml.Node:
    """The last scalar (or empty collection) inside `node`: where its text really ends (a block collection's own
    end mark lies past the comments that follow it)."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value and not node.flow_style:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    return node


def edit_text(text: str, model_name: str, capacity: dict[str, Any], *, force: bool) -> tuple[str, dict | None]:
    """`text` with the model's capacity set; also the capacity it had (None). CalibrationError when it cannot."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)  # the pure-Python parser: its marks index characters
    models = _value(root, "models") if isinstance(root, yaml.MappingNode) else None
    if models is None or not isinstance(models[1], yaml.SequenceNode):
        raise CalibrationError("--write: the profile has no models list to record the capacity in")
    item = next(
        (m for m in models[1].value if isinstance(m, yaml.MappingNode)
         and (n := _value(m, "name")) and isinstance(n[1], yaml.ScalarNode) and n[1].value == model_name),
        None,
    )
    if item is None:
        raise CalibrationError(f"--write: no models[] entry named '{model_name}' in the file")
    line = f"capacity: {capacity_yaml(capacity)}"
    existing = _value(item, "capacity")
    if existing is not None:
        key, value = existing
        old = parse_yaml(text, "<profile>")
        before = next((m.get("capacity") for m in old["models"] if m.get("name") == model_name), None)
        if not force:
            raise CalibrationError(
                f"--write: model '{model_name}' already has a capacity ({_show(before)}); pass --force to replace it"
            )
        start, end = key.start_mark.index, _last_leaf(value).end_mark.index
        return text[:start] + line + text[end:], before
    if item.flow_style:  # - {name: x, ...}: add before the closing brace
        close = text.rindex("}", 0, item.end_mark.index)
        return text[:close] + ", " + line + text[close:], None
    last = _last_leaf(item)
    eol = text.find("\n", last.end_mark.index)
    eol = len(text) if eol < 0 else eol
    if last.end_mark.index > 0 and text[last.end_mark.index - 1] == "\n":  # a block scalar ends after its newline
        eol = last.end_mark.index - 1
    indent = " " * item.value[0][0].start_mark.column
    return text[:eol] + "\n" + indent + line + text[eol:], None


def _show(capacity: Any) -> str:
    if isinstance(capacity, dict):
        return ", ".join(f"{k} {v}" for k, v in capacity.items())
    return str(capacity)


def _without_capacity(data: dict[str, Any], model_name: str) -> dict[str, Any]:
    models = [{k: v for k, v in m.items() if not (k == "capacity" and m.get("name") == model_name)}
              for m in data.get("models", [])]
    return {**data, "models": models}


def write_capacity(path: str, read_text: str, model_name: str, capacity: dict[str, Any], *, force: bool) -> dict | None:
    """Record `capacity` for `model_name` in the profile at `path`, which must still hold `read_text`; returns the
    capacity it replaced (None). CalibrationError when it cannot, and then the file is untouched."""
    file = Path(path)
    try:
        current = file.read_bytes().decode("utf-8")
    except OSError as exc:
        raise CalibrationError(f"--write: cannot read {path} ({exc.strerror or exc})") from None
    if current != read_text:
        raise CalibrationError(
            f"--write: {path} changed while calibrate ran; nothing was written - run calibrate again"
        )
    new_text, before = edit_text(current, model_name, capacity, force=force)
    try:
        new_data = parse_yaml(new_text, path)
        profile = profile_from_data(new_data, path)
    except ProfileError as exc:
        raise CalibrationError(f"--write: the edited profile would not load, nothing was written:\n{exc}") from None
    recorded = next(m.capacity for m in profile.models if m.name == model_name)
    expected = {k: capacity[k] for k in FIELDS}
    if recorded is None or recorded.model_dump() != expected or (
        _without_capacity(new_data, model_name) != _without_capacity(parse_yaml(current, path), model_name)
    ):
        raise CalibrationError(
            f"--write: editing {path} in place would change more than models[{model_name}].capacity (an unusual "
            f"layout), so nothing was written; add this line to the model yourself:\n  capacity: "
            f"{capacity_yaml(capacity)}"
        )
    _replace_atomically(file, new_text)
    return before


def _replace_atomically(file: Path, text: str) -> None:
    mode = file.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
