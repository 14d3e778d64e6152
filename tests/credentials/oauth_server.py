"""A real OAuth 2.0 authorization server on loopback: panva's oidc-provider (npm), installed by
`make test` into tests/oauth_server/node_modules and started here, one per test.

`OAuthServer` also plays the user's browser at the provider: `authorize(url)` follows the
redirects of the authorization URL (with cookies, like a browser) until the provider sends the
user back to the marketplace, and answers that callback URL.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

SERVER_DIR = Path(__file__).resolve().parents[1] / "oauth_server"
PORTS = range(8100, 8200)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class OAuthServer:
    def __init__(self, *, clients: list[dict], rotate_refresh_token: bool = True, access_ttl=3600):
        self.clients = clients
        self.rotate_refresh_token = rotate_refresh_token
        self.access_ttl = access_ttl
        self.process: subprocess.Popen | None = None
        self.port = 0

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> OAuthServer:
        if not (SERVER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(
                "oidc-provider is not installed: `make test` runs `npm ci` in tests/oauth_server"
            )
        for port in random.sample(list(PORTS), 12):
            if self._start(port):
                return self
        raise RuntimeError("could not start the OAuth server on a free loopback port")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)

    def _start(self, port: int) -> bool:
        config = {
            "port": port,
            "clients": self.clients,
            "rotateRefreshToken": self.rotate_refresh_token,
            "accessTokenTTL": self.access_ttl,
        }
        env = {**os.environ, "OAUTH_SERVER_CONFIG": json.dumps(config)}
        process = subprocess.Popen(
            ["node", "server.js"],
            cwd=SERVER_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = process.stdout.readline().strip()
        if line == f"listening {port}":
            self.process, self.port = process, port
            return True
        process.kill()
        process.wait(timeout=10)
        return False

    # -- addresses ----------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.issuer + path

    # -- control ------------------------------------------------------------------------------

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url("/__stats"), timeout=10) as response:
            return json.loads(response.read())

    def token_requests(self) -> int:
        return self.stats()["token_requests"]

    def inject(self, *faults: str) -> None:
        """Answer the next token requests with these faults, in order (see server.js)."""
        request = urllib.request.Request(
            self.url("/__faults"), data=json.dumps(list(faults)).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    # -- the user's browser at the provider ---------------------------------------------------

    def authorize(self, authorization_url: str, *, back_to: str, login_hint: str = "alice"):
        """Follow the provider's redirects until one leads to `back_to`; answer that URL."""
        parts = urllib.parse.urlsplit(authorization_url)
        query = [*urllib.parse.parse_qsl(parts.query), ("login_hint", login_hint)]
        url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirects()
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                response = opener.open(url, timeout=10)
            except urllib.error.HTTPError as error:
                response = error
            location = response.headers.get("Location")
            if response.status not in (302, 303, 307) or not location:
                body = response.read()[:500]
                raise AssertionError(f"the provider answered {response.status}: {body!r}")
            url = urllib.parse.urljoin(url, location)
            if url.startswith(back_to):
                return url
        raise AssertionError("the provider never redirected back")
