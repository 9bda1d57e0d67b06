"""Load a profile file: YAML syntax, types, unknown keys and cross-field rules reported together, never a traceback."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mlinfra.conventions import RFC1123_LABEL_PATTERN
from mlinfra.profiles.model import (
    GPU_TYPE_PATTERN,
    IMAGE_PATTERN,
    KUBE_CONTEXT_PATTERN,
    MODEL_NAME_PATTERN,
    RFC1123_SUBDOMAIN_PATTERN,
    SLACK_CHANNEL_PATTERN,
    Profile,
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a profile: where (dotted path or line), what, and what was found."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ProfileError(Exception):
    """A profile could not be loaded; `str()` is the user-facing report `file: N problem(s)` + one line each."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__(self.report())

    def report(self) -> str:
        n = len(self.problems)
        head = f"{self.source}: {n} problem{'s' if n != 1 else ''}"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


# ---------------------------------------------------------------------------------------------------------
# YAML with duplicate-key detection


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present: ~10x faster

MAX_PROFILE_BYTES = 1024 * 1024  # a profile is a few KB; more is a mistake (or an attack), refused before parsing
MAX_VALUES = 100_000  # values after YAML aliases are expanded: a few KB of aliases can stand for billions
MAX_INT_DIGITS = 30  # no profile number needs more; Python refuses to convert past 4,300
MAX_PROBLEMS = 50  # listed; the rest are counted
MAX_KEYS = 10_000  # keys of one mapping (unknown keys are each a problem pydantic reports)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that records duplicate mapping keys instead of silently keeping the last one."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[tuple[Any, int]] = []  # (key, line) of every repeated key
        self.root_team: list[Any] = []  # every value of the top-level `team` key, in order
        self._root: Any = None

    def construct_document(self, node):  # noqa: D401 - PyYAML hook
        self._root = node
        return super().construct_document(node)

    def construct_yaml_int(self, node):  # noqa: D401 - PyYAML hook
        digits = sum(ch.isdigit() for ch in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number with {digits} digits; numbers in a profile have at most {MAX_INT_DIGITS}",
                node.start_mark)
        return super().construct_yaml_int(node)

    def construct_mapping(self, node, deep=False):  # noqa: D401 - PyYAML hook
        seen: set[Any] = set()
        # merge keys (<<: *anchor) are expanded by the constructor; an explicit key may override a merged one
        own = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        for key_node, value_node in own:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (list, dict)):
                continue  # unhashable keys are reported by the constructor itself
            if node is self._root and key == "team":
                self.root_team.append(self.construct_object(value_node, deep=True))
            if key in seen:
                self.duplicates.append((key, key_node.start_mark.line + 1))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; syntax errors and duplicate keys become a ProfileError naming line and column."""
    loader = _StrictLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ProfileError(source, [Problem(where, f"YAML syntax error: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ProfileError(source, [Problem("", f"YAML error: {_short(str(exc))}")]) from None
    except (ValueError, OverflowError, RecursionError) as exc:  # a value the constructors cannot represent
        raise ProfileError(source, [Problem("", f"YAML error: {_short(str(exc))}")]) from None
    finally:
        loader.dispose()
    team = _merged_team(loader.root_team)
    problems = [
        Problem(f"line {line}", f"duplicate key '{_short(str(key), 80)}'; each key may appear once per mapping")
        for key, line in loader.duplicates
        if not (key == "team" and team is not None)
    ]
    if problems:
        raise ProfileError(source, problems)
    problems = _unsafe_text(data)
    if problems:
        raise ProfileError(source, problems)
    if team is not None:
        data = {**data, "team": team}
    return data


def _unsafe_text(data: Any) -> list[Problem]:
    """Control characters in any key or string (a newline in a name can add a line to a generated file), and a
    document that expands past MAX_VALUES values (YAML aliases) - checked before any validation."""
    problems: list[Problem] = []
    count = 0
    stack: list[tuple[tuple, Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        count += 1
        if count > MAX_VALUES:
            return [Problem("", f"the profile expands to more than {MAX_VALUES:,} values (through YAML aliases?); "
                                "a profile is a few hundred values")]
        if isinstance(value, dict):
            if len(value) > MAX_KEYS:
                return [Problem(_dotted(loc), f"a mapping of {len(value):,} keys; a profile's largest holds a few "
                                              f"hundred (at most {MAX_KEYS:,})")]
            for key, item in value.items():
                if isinstance(key, str) and _control(key):
                    problems.append(Problem(_dotted(loc), f"key {_show(key)} contains a control character "
                                            f"({_control(key)}); keys and values are one line of printable text"))
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, i), item) for i, item in enumerate(value))
        elif isinstance(value, str) and _control(value):
            problems.append(Problem(_dotted(loc), f"contains a control character ({_control(value)}); keys and values "
                                    f"are one line of printable text (got {_show(value)})"))
    return sorted(problems, key=lambda p: p.path)[:MAX_PROBLEMS]


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _control(text: str) -> str:
    """The first control character in `text` as U+XXXX, '' when there is none."""
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else ""


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _merged_team(values: list[Any]) -> dict | None:
    """`team: name` and `team: {kubernetes_skills, ops_fte}` may both be given (the v1 contract shows both)."""
    if len(values) != 2:
        return None
    names = [v for v in values if isinstance(v, str)]
    skills = [v for v in values if isinstance(v, dict) and "name" not in v]
    if len(names) == 1 and len(skills) == 1:
        return {"name": names[0], **skills[0]}
    return None


# ---------------------------------------------------------------------------------------------------------
# Validation errors -> problems


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _key(part)
    return out


def _key(part: Any) -> str:
    """A mapping key as written, quoted when it is empty, has spaces, dots or unprintable characters."""
    text = str(part)
    plain = text and text.isprintable() and " " not in text and "." not in text and ":" not in text
    return text if plain else repr(text)


def _clean_loc(loc: tuple, data: Any) -> tuple:
    """Keep only the parts of a pydantic location that exist in the user's data (drops union/tag markers)."""
    keep: list = []
    current = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, dict) and part in current:
            keep.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            keep.append(part)
            current = current[part]
        elif last and isinstance(part, str) and not _is_marker(part):
            keep.append(part)  # a missing or unknown field: named although absent from the data
    return tuple(keep)


def _is_marker(part: str) -> bool:
    return part[:1].isupper() or part.startswith(("function-", "list[", "dict[", "union[", "tagged-union[")) or part in {
        "str", "int", "float", "bool", "none"
    }


def _model_at(raw_loc: tuple, root: type[BaseModel] = Profile) -> type[BaseModel] | None:
    """The model class owning the field at a raw pydantic location (union tags such as 'slack' pick the member)."""
    candidates: list[type[BaseModel]] = [root]
    for part in raw_loc:
        if isinstance(part, int):
            continue
        owners = [m for m in candidates if part in m.model_fields]
        if owners:
            candidates = _models_in(owners[0].model_fields[part].annotation)
            continue
        tagged = [m for m in candidates if _tag_of(m) == part or m.__name__ == part]
        if tagged:
            candidates = tagged
    return candidates[0] if len(candidates) == 1 else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _tag_of(model: type[BaseModel]) -> str | None:
    import typing

    field = model.model_fields.get("type")
    args = typing.get_args(field.annotation) if field else ()
    return args[0] if len(args) == 1 else None


def _show(value: Any) -> str:
    value = _trimmed(value)  # before formatting: a huge value (aliases) is never dumped whole
    text = repr(value) if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("\n...").strip()
    if "\n" in text or not text.isprintable():  # YAML keeps odd keys multi-line; a problem stays on one line
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _trimmed(value: Any, budget: int = 12) -> Any:
    """A small stand-in for showing `value`: long strings cut, at most `budget` items of lists and mappings."""
    if isinstance(value, str):
        return value if len(value) <= 100 else value[:100] + "..."
    if isinstance(value, list):
        return [_trimmed(v, 3) for v in value[:budget]] + (["..."] if len(value) > budget else [])
    if isinstance(value, dict):
        items = list(value.items())[:budget]
        out = {str(_trimmed(k, 1)) if not isinstance(k, (int, float, bool)) or isinstance(k, bool) else k:
               _trimmed(v, 3) for k, v in items}
        if len(value) > budget:
            out["..."] = "..."
        return out
    return value


_RFC1123_HINT = "must be an RFC 1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit"
_PATTERN_HINTS = {
    RFC1123_LABEL_PATTERN: _RFC1123_HINT,
    MODEL_NAME_PATTERN: "must be lower-case letters, digits and '-', starting with a letter (the model's Service is "
    "named after it) and ending with a letter or digit",
    GPU_TYPE_PATTERN: "must be a GPU model in lower case: letters, digits and '-', e.g. l4, a10g, h100",
    RFC1123_SUBDOMAIN_PATTERN: "must be a Kubernetes object name: lower-case letters, digits, '-' and '.', starting "
    "and ending with a letter or digit",
    IMAGE_PATTERN: "must be an image reference [registry[:port]/]repository[:tag][@sha256:digest], e.g. "
    "ghcr.io/acme/scorer:1.4.2, without spaces or control characters",
    SLACK_CHANNEL_PATTERN: "must be a channel name such as #ml-alerts (letters, digits, '.', '_', '-'); the webhook URL "
    "belongs in the secret config key webhook_secret names",
    KUBE_CONTEXT_PATTERN: "must be a kubeconfig context name: letters, digits and . _ : @ / + -, starting with a "
    "letter or digit, on one line",
}


def problems_from(exc: ValidationError, data: Any, root: type[BaseModel] = Profile) -> list[Problem]:
    """Turn pydantic errors into `path: message (got X)` problems, with 'did you mean' for unknown keys (the fields
    of `root`, the model validated: the profile, or another config file such as the drift monitor's)."""
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"], data)
        path = _dotted(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            owner = _model_at(err["loc"][:-1], root)
            allowed = sorted(owner.model_fields) if owner else []
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6) if loc else []
            hint = f"; did you mean '{close[0]}'?" if close else ""
            message = f"unknown field{hint}" + (f" (allowed: {', '.join(allowed)})" if allowed and not close else "")
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx", {})
            message = f"{ctx.get('discriminator', 'type').strip(chr(39))} {_show(ctx.get('tag'))} is not known; allowed: {ctx.get('expected_tags')}"
        elif kind == "union_tag_not_found":
            message = f"needs a '{err.get('ctx', {}).get('discriminator', 'type').strip(chr(39))}' field (got {_show(err['input'])})"
        elif kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") in _PATTERN_HINTS:
            message = f"{_PATTERN_HINTS[err['ctx']['pattern']]} (got {_show(err['input'])})"
        elif kind == "missing":
            message = "required field is missing"
        elif kind in ("value_error", "assertion_error"):
            message = str(err.get("ctx", {}).get("error", err["msg"]))
            message += f" (got {_show(err['input'])})" if loc and not isinstance(err["input"], dict) else ""
        else:
            message = f"{err['msg'][0].lower()}{err['msg'][1:]} (got {_show(err['input'])})"
        key = (path, message)
        if key not in seen:
            seen.add(key)
            problems.append(Problem(path, message))
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], Problem("", f"... and {more} more problem{'s' if more != 1 else ''}")]
    return problems


# ---------------------------------------------------------------------------------------------------------
# Entry points


def profile_from_data(data: Any, source: str = "<profile>") -> Profile:
    """Validate already-parsed data; raises ProfileError listing every problem."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise ProfileError(source, [Problem("", f"a profile is a YAML mapping of fields (got {kind})")])
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(source, problems_from(exc, data)) from None


def _read_capped(path: Path) -> str:
    """The file's text; a device, pipe or socket, or more than MAX_PROFILE_BYTES, is refused (ProfileError)."""
    import os
    import stat

    mode = os.stat(path).st_mode  # before opening: opening a pipe waits for a writer
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(str(path))
    if not stat.S_ISREG(mode):
        raise ProfileError(str(path), [Problem("", "is not a regular file (a device, pipe or socket); pass the "
                                                   "path of a profile YAML file")])
    # FileNotFoundError, IsADirectoryError, PermissionError: the caller's messages
    with open(path, "rb") as fh:
        data = fh.read(MAX_PROFILE_BYTES + 1)
    if len(data) > MAX_PROFILE_BYTES:
        raise ProfileError(str(path), [Problem("", f"is larger than {MAX_PROFILE_BYTES // 1024} KiB; a profile is a "
                                                   "few KB of YAML: pass the profile file")])
    return data.decode("utf-8")


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile file; raises ProfileError (with the file name) on any problem."""
    path = Path(path)
    source = str(path)
    try:
        text = _read_capped(path)
    except FileNotFoundError:
        raise ProfileError(source, [Problem("", "file not found; pass the path of a profile YAML file")]) from None
    except IsADirectoryError:
        raise ProfileError(source, [Problem("", "is a directory; pass the path of a profile YAML file")]) from None
    except UnicodeDecodeError as exc:
        raise ProfileError(source, [Problem("", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise ProfileError(source, [Problem("", f"cannot be read: {exc.strerror or exc}")]) from None
    try:
        data = parse_yaml(text, source)
    except ProfileError as exc:
        raise ProfileError(source, exc.problems) from None
    return profile_from_data(data, source)
