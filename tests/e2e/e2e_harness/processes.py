"""Processes the e2e test starts: free ports, start with a log file, wait until ready, stop by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """HTTP status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, OSError):
        return None


class ManagedProcess:
    """One server process of the test, in its own session so it can be stopped by its pid and nothing else."""

    def __init__(self, name: str, argv: list[str], log_path: Path, *, cwd: Path | None = None, env: dict | None = None):
        self.name, self.argv, self.log_path = name, argv, log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv built by the test
            argv, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def wait_ready(self, url: str, timeout: float) -> None:
        """Poll `url` until it answers 200; fail with the log tail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.proc.returncode} before {url} was ready; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            if http_status(url) == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready at {url} after {timeout:.0f}s; log:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL this process's group at once (a crash, no shutdown) and reap it."""
        try:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        finally:
            self._log.close()

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM this process (its own session, pgid == pid), SIGKILL after `grace` seconds."""
        try:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
        finally:
            self._log.close()
