"""The real ASGI server (uvicorn, as `make run` and production start it) in a subprocess.

It runs the project's `marketplace.asgi:application` against the test database and Redis db,
so a test sees what a client on the network sees: status, headers, body, and the server's log.
Tests that need rows visible to it use `transactional_db` (committed data).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
START_UP_SECONDS = 60  # a loaded 2-core machine can take a while to import Django


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    return (
        f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


class AsgiServer:
    def __init__(self, log_path: Path, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> AsgiServer:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "TESTING": "true",
            "DEBUG": "false",
            "ENVIRONMENT": "development",
            **self.env,
        }
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "marketplace.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_UP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited early:\n{self.log()}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"uvicorn did not answer within {START_UP_SECONDS}s:\n{self.log()}")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        chunks: list[bytes] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, lower-cased headers, body). `chunks` sends a chunked body (no length)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.putrequest(method, path)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if chunks is not None:
                conn.putheader("Transfer-Encoding", "chunked")
            elif body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            try:
                if chunks is not None:
                    for chunk in chunks:
                        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    conn.send(b"0\r\n\r\n")
                elif body:
                    conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading everything
            response = conn.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")
