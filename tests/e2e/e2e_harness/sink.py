"""Webhook sink: a threaded HTTP server on 127.0.0.1 recording every notification with its arrival time."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass(frozen=True)
class Notification:
    """One POST Alertmanager made: when it arrived, to which path (= which secret), and its JSON body."""

    arrival: float  # time.time()
    path: str
    body: dict = field(hash=False)


class NotificationSink:
    """Records POSTs; `wait_for` blocks until a recorded notification matches or the timeout passes."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self._cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode(errors="replace")}
                sink._record(Notification(arrival=time.time(), path=self.path, body=body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")  # Slack's incoming webhooks answer "ok"

            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="e2e-sink", daemon=True)
        self._thread.start()

    def _record(self, notification: Notification) -> None:
        with self._cond:
            self.notifications.append(notification)
            self._cond.notify_all()

    def snapshot(self) -> list[Notification]:
        with self._cond:
            return list(self.notifications)

    def wait_for(self, predicate: Callable[[Notification], bool], timeout: float) -> Notification | None:
        """First recorded notification matching `predicate` (already recorded or arriving within `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for notification in self.notifications:
                    if predicate(notification):
                        return notification
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
