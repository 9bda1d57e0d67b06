"""Reading the rows of an Open Inference (V2) request and the predictions of its response, for the drift window.

Two request layouts are understood, the ones MLServer's and Triton's clients send for tabular models:

- named inputs, one per feature (MLServer's pandas codec): each input whose name is a feature column holds that
  column, shape [n] or [n, 1]; features not sent are missing (NaN) in those rows;
- one 2-D input of shape [n, k] (a numpy tensor): its k columns are the features in order, by position.

`data` may be flat (row-major, as the protocol defines) or nested, or binary after the JSON document (the binary
tensor data extension Triton's clients use by default: `Inference-Header-Content-Length` gives the JSON's length,
each tensor's `parameters.binary_data_size` its bytes, little-endian, BYTES elements length-prefixed). Predictions
are the output named like the reference's prediction column, else the first output, when its shape is [n] or
[n, 1]. Anything else raises V2DecodeError: the sample is skipped and counted, the request itself has long been
answered.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

# POST /v2/models/{name}[/versions/{version}]/infer
INFER_PATH = re.compile(r"^/v2/models/(?P<model>[^/]+)(?:/versions/(?P<version>[^/]+))?/infer$")


class V2DecodeError(ValueError):
    """A sampled request or response is not a layout the monitor understands (the message says why)."""


# V2 datatypes as little-endian numpy types (binary tensor data); BYTES is length-prefixed, BF16 has no numpy type
BINARY_TYPES = {"BOOL": "?", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "INT8": "<i1",
                "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}
JSON_LENGTH_HEADER = "Inference-Header-Content-Length"


@dataclass(frozen=True)
class Body:
    """A sampled request or response body with what reading it needs from its headers."""

    data: bytes
    encoding: str = ""  # Content-Encoding
    json_length: str | None = None  # Inference-Header-Content-Length: binary tensor data follows the JSON


def infer_model(path: str) -> str | None:
    """The model name of a V2 inference path, None for every other path."""
    found = INFER_PATH.match(path)
    return found.group("model") if found else None


def parse(body: Body) -> Any:
    """The V2 JSON document of a body, uncompressed, with binary tensor data placed into each tensor's `data`."""
    raw = body.data
    encoding = body.encoding.strip().lower()
    try:
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        elif encoding not in ("", "identity"):
            raise V2DecodeError(f"a body with Content-Encoding {encoding} is not sampled")
    except (OSError, zlib.error, EOFError) as exc:
        raise V2DecodeError(f"the {encoding} body does not decompress ({exc})") from None
    length = len(raw)
    if body.json_length is not None:
        if not body.json_length.strip().isdigit() or int(body.json_length) > len(raw):
            raise V2DecodeError(f"{JSON_LENGTH_HEADER} {body.json_length!r} does not fit a body of {len(raw)} bytes")
        length = int(body.json_length)
    try:
        document = json.loads(raw[:length])
    except (ValueError, UnicodeDecodeError) as exc:
        raise V2DecodeError(f"the body is not JSON ({exc})") from None
    if length < len(raw):
        _place_binary(document, memoryview(raw)[length:])
    return document


def _place_binary(document: Any, binary: memoryview) -> None:
    """Put each tensor's binary data (in the order of the tensors, as the extension defines) into its `data`."""
    offset = 0
    if not isinstance(document, dict):
        raise V2DecodeError("the JSON document is not an object")
    tensors = document.get("inputs") or document.get("outputs") or []
    for tensor in tensors if isinstance(tensors, list) else []:
        parameters = tensor.get("parameters") if isinstance(tensor, dict) else None
        size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
        if size is None:
            continue
        if not isinstance(size, int) or size < 0 or offset + size > len(binary):
            raise V2DecodeError(f"tensor {tensor.get('name')}: binary_data_size {size!r} does not fit the binary data")
        tensor["data"] = _binary(bytes(binary[offset:offset + size]), tensor.get("datatype"), tensor.get("name"))
        offset += size


def _binary(raw: bytes, datatype: Any, name: Any) -> np.ndarray:
    if datatype == "BYTES":
        items, offset = [], 0
        while offset < len(raw):
            if offset + 4 > len(raw):
                raise V2DecodeError(f"tensor {name}: BYTES data ends inside a length prefix")
            (size,) = struct.unpack_from("<I", raw, offset)
            items.append(raw[offset + 4:offset + 4 + size].decode("utf-8", "replace"))
            offset += 4 + size
        return np.array(items, dtype=object)
    dtype = BINARY_TYPES.get(datatype)  # type: ignore[arg-type]
    if dtype is None:
        raise V2DecodeError(f"tensor {name}: binary {datatype} data is not read")
    if len(raw) % np.dtype(dtype).itemsize:
        raise V2DecodeError(f"tensor {name}: {len(raw)} bytes are not a whole number of {datatype} values")
    return np.frombuffer(raw, dtype=dtype)


def _tensor(item: Any, what: str) -> np.ndarray:
    """A V2 tensor (`shape`, `data`) as an array of that shape."""
    if not isinstance(item, dict):
        raise V2DecodeError(f"{what} is not an object")
    shape, data = item.get("shape"), item.get("data")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in shape):
        raise V2DecodeError(f"{what}: shape is not a list of sizes (got {shape!r})")
    if not isinstance(data, (list, np.ndarray)):
        raise V2DecodeError(f"{what}: data is not a list (shared-memory data is not sampled)")
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
