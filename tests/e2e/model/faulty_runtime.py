"""MLServer runtime for the e2e test: the real SKLearnModel, with faults the test switches on at run time.

MLServer imports this module from the model folder (model-settings.json `implementation`). Faults live inside
the server so MLServer's own metrics record them exactly as they would record a real fault: the extra
latency is inside the request, an injected error is an unhandled exception (HTTP 500, like a crashing model).

The fault file (model-settings `parameters.extra.fault_file`) is JSON, rewritten atomically by the test and
read on every request: {"latency_s": 0.6, "error_every": 2} = sleep 0.6 s in every request and fail every
2nd request. Missing keys or a missing file mean healthy.
"""

import asyncio
import itertools
import json
from pathlib import Path

from mlserver.types import InferenceRequest, InferenceResponse
from mlserver_sklearn import SKLearnModel


class InjectedFault(RuntimeError):
    """Stands for a model that crashes mid-request (not an MLServerError, so MLServer answers 500)."""


class FaultInjectingSKLearnModel(SKLearnModel):
    async def load(self) -> bool:
        extra = (self.settings.parameters.extra or {}) if self.settings.parameters else {}
        self._fault_file = Path(extra["fault_file"])
        self._requests = itertools.count(1)
        return await super().load()

    def _fault(self) -> dict:
        try:
            return json.loads(self._fault_file.read_text())
        except FileNotFoundError:
            return {}

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        fault = self._fault()
        number = next(self._requests)
        if fault.get("latency_s"):
            await asyncio.sleep(float(fault["latency_s"]))  # async: concurrent requests are not serialised
        every = int(fault.get("error_every") or 0)
        if every and number % every == 0:
            raise InjectedFault(f"injected server fault (request {number}, every {every})")
        return await super().predict(payload)
