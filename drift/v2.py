"""Reading the rows of an Open Inference (V2) request and the predictions of its response, for the drift window.

Two request layouts are understood, the ones MLServer's and Triton's clients send for tabular models:

- named inputs, one per feature (MLServer's pandas codec): each input whose name is a feature column holds that
  column, shape [n] or [n, 1]; features not sent are missing (NaN) in those rows;
- one 2-D input of shape [n, k] (a numpy tensor): its k columns are the features in order, by position.

`data` may be flat (row-major, as the protocol defines) or nested. Predictions are the output named like the
reference's prediction column, else the first output, when its shape is [n] or [n, 1]. Anything else raises
V2DecodeError: the sample is skipped and counted, the request itself has long been answered.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

# POST /v2/models/{name}[/versions/{version}]/infer
INFER_PATH = re.compile(r"^/v2/models/(?P<model>[^/]+)(?:/versions/(?P<version>[^/]+))?/infer$")


class V2DecodeError(ValueError):
    """A sampled request or response is not a layout the monitor understands (the message says why)."""


def infer_model(path: str) -> str | None:
    """The model name of a V2 inference path, None for every other path."""
    found = INFER_PATH.match(path)
    return found.group("model") if found else None


def _tensor(item: Any, what: str) -> np.ndarray:
    """A V2 tensor (`shape`, `data`) as an array of that shape."""
    if not isinstance(item, dict):
        raise V2DecodeError(f"{what} is not an object")
    shape, data = item.get("shape"), item.get("data")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in shape):
        raise V2DecodeError(f"{what}: shape is not a list of sizes (got {shape!r})")
    if not isinstance(data, list):
        raise V2DecodeError(f"{what}: data is not a list (binary or shared-memory data is not sampled)")
    try:
        array = np.asarray(data)
    except ValueError:
        raise V2DecodeError(f"{what}: data is a ragged nested list") from None
    if array.size != math.prod(shape):
        raise V2DecodeError(f"{what}: data holds {array.size} values, shape {shape} needs {math.prod(shape)}")
    return array.reshape(shape)


def _column(array: np.ndarray, what: str) -> np.ndarray:
    """A [n] or [n, 1] tensor as n values."""
    if array.ndim == 1:
        return array
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    raise V2DecodeError(f"{what}: shape {list(array.shape)} is not one value per row ([n] or [n, 1])")


def decode_inputs(request: Any, features: tuple[str, ...]) -> tuple[int, dict[str, np.ndarray]]:
    """(rows, {feature: n values}) of a V2 inference request; features a request does not send are absent."""
    inputs = request.get("inputs") if isinstance(request, dict) else None
    if not isinstance(inputs, list) or not inputs:
        raise V2DecodeError("the request has no inputs list")
    named = {i.get("name"): i for i in inputs if isinstance(i, dict) and i.get("name") in features}
    if named:
        columns = {name: _column(_tensor(item, f"input {name}"), f"input {name}") for name, item in named.items()}
        sizes = {len(v) for v in columns.values()}
        if len(sizes) != 1:
            raise V2DecodeError(f"the named inputs hold different numbers of rows ({sorted(sizes)})")
        return sizes.pop(), columns
    if len(inputs) == 1:
        tensor = _tensor(inputs[0], "input 0")
        if tensor.ndim == 1 and len(features) == 1:
            tensor = tensor.reshape(-1, 1)
        if tensor.ndim == 2 and tensor.shape[1] == len(features):
            return tensor.shape[0], {name: tensor[:, i] for i, name in enumerate(features)}
        raise V2DecodeError(f"input 0 has shape {list(tensor.shape)}; a single input is [n, {len(features)}], one "
                            f"column per feature ({', '.join(features)})")
    names = [i.get("name") for i in inputs if isinstance(i, dict)]
    raise V2DecodeError(f"no input is named after a feature (inputs {names}, features {', '.join(features)})")


def decode_predictions(response: Any, column: str | None) -> np.ndarray:
    """The predictions of a V2 inference response: the output named `column`, else the first, one per row."""
    outputs = response.get("outputs") if isinstance(response, dict) else None
    if not isinstance(outputs, list) or not outputs:
        raise V2DecodeError("the response has no outputs list")
    chosen = next((o for o in outputs if isinstance(o, dict) and column and o.get("name") == column), outputs[0])
    name = chosen.get("name", "0") if isinstance(chosen, dict) else "0"
    return _column(_tensor(chosen, f"output {name}"), f"output {name}")
