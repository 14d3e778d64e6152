import pytest

from plugins.outbound import FetchError, fetch, same_site_redirects_only

CANARY = "canary-2d41-credential"


def ok(handler):
    handler.reply(200, b'{"ok": true}')


def chain(length: int):
    """Routes /r0 -> /r1 -> ... -> /r{length} (which answers 200)."""
    routes = {f"/r{i}": (lambda h, i=i: h.redirect(302, f"/r{i + 1}")) for i in range(length)}
    routes[f"/r{length}"] = ok
    return routes


def redirect_to(location: str, status: int = 302):
    return lambda handler: handler.redirect(status, location)


def test_it_follows_up_to_three_redirects_by_default(serve):
    server = serve(chain(3))
    result = fetch(f"{server.url}/r0")
    assert result.status == 200
    assert result.final_url == f"{server.url}/r3"
    assert result.redirects == (f"{server.url}/r1", f"{server.url}/r2", f"{server.url}/r3")


def test_it_stops_after_too_many_redirects(serve):
    server = serve(chain(4))
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/r0")
    assert caught.value.code == "outbound.too_many_redirects"
    assert [seen.path for seen in server.seen] == ["/r0", "/r1", "/r2", "/r3"]


def test_it_honours_a_custom_redirect_cap(serve):
    server = serve(chain(1))
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/r0", max_redirects=0)
    assert caught.value.code == "outbound.too_many_redirects"


def test_it_returns_the_redirect_when_told_not_to_follow(serve):
    target = serve({"/": ok})
    server = serve({"/token": redirect_to(f"{target.url}/", status=307)})
    result = fetch(
        f"{server.url}/token", method="POST", body=b"client_secret=x", follow_redirects=False
    )
    assert result.status == 307
    assert result.headers["location"] == f"{target.url}/"
    assert result.redirects == ()
    assert target.connections == 0


def test_it_rechecks_the_address_of_every_hop(settings, serve):
    private = serve({"/": ok})
    public_looking = serve({"/": redirect_to(f"{private.url}/")})
    settings.MARKETPLACE_OUTBOUND_PRIVATE_DESTINATIONS = [f"127.0.0.1:{public_looking.port}"]
    with pytest.raises(FetchError) as caught:
        fetch(f"{public_looking.url}/")
    assert caught.value.code == "outbound.address_blocked"
    assert private.connections == 0


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ("http://169.254.169.254/latest/meta-data/", "outbound.address_blocked"),
        ("http://[::ffff:127.0.0.1]/", "outbound.address_blocked"),
        ("file:///etc/passwd", "outbound.scheme_not_allowed"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "outbound.scheme_not_allowed"),
        ("http://127.0.0.1:80\\@evil.com/", "outbound.invalid_url"),
        ("http://user:pass@localhost:8150/", "outbound.invalid_url"),
        ("//@localhost:8150/", "outbound.invalid_url"),
        ("http://2130706433/", "outbound.invalid_url"),
    ],
)
def test_it_vets_redirect_targets_like_the_first_url(serve, location, code):
    server = serve({"/": redirect_to(location)})
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/")
    assert caught.value.code == code


def test_it_refuses_a_redirect_the_policy_rejects(serve):
    other_site = serve({"/": ok})
    server = serve({"/": redirect_to(f"{other_site.localhost_url}/")})
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/", redirect_policy=same_site_redirects_only("127.0.0.1"))
    assert caught.value.code == "outbound.redirect_not_allowed"
    assert other_site.connections == 0


def test_it_passes_both_urls_to_the_redirect_policy(serve):
    server = serve({"/a": redirect_to("/b"), "/b": ok})
    calls = []
    fetch(f"{server.url}/a", redirect_policy=lambda src, dst: calls.append((src, dst)) or True)
    assert calls == [(f"{server.url}/a", f"{server.url}/b")]


@pytest.mark.parametrize(
    ("original", "target", "allowed"),
    [
        ("example.com", "https://example.com/x", True),
        ("example.com", "https://www.example.com/", True),
        ("example.com", "https://api.v2.example.com/", True),
        ("www.example.com", "https://example.com/", True),
        ("www.example.com", "https://cdn.www.example.com/", True),
        ("WWW.Example.COM.", "https://EXAMPLE.com./", True),
        ("www.example.com", "https://other.example.com/", False),
        ("api.example.com", "https://example.com/", False),
        ("example.com", "https://evil.com/", False),
        ("example.com", "https://notexample.com/", False),
        ("example.com", "https://example.com.evil.com/", False),
        ("example.com", "https://[::1]/", False),
        ("127.0.0.1", "http://127.0.0.1:8150/", True),
        ("127.0.0.1", "http://1.127.0.0.1/", False),
        ("www.127.0.0.1", "http://127.0.0.1/", False),
        ("example.com", "not a url", False),
    ],
)
def test_same_site_redirects_only(original, target, allowed):
    policy = same_site_redirects_only(original)
    assert policy("https://whatever/", target) is allowed


def credential_headers():
    return {
        "Authorization": f"Bearer {CANARY}",
        "X-API-Key": CANARY,
        "Cookie": f"s={CANARY}",
        "X-Request-Id": "req-1",
    }


def test_it_drops_credentials_on_a_redirect_to_another_host(serve):
    other_host = serve({"/": ok})
    server = serve({"/": redirect_to(f"{other_host.localhost_url}/")})
    result = fetch(
        f"{server.url}/", headers=credential_headers(), sensitive_headers=frozenset({"X-API-Key"})
    )
    assert result.status == 200
    assert server.seen[0].headers["x-api-key"] == CANARY
    received = other_host.seen[0].headers
    assert received["x-request-id"] == "req-1"
    assert not {"authorization", "x-api-key", "cookie"} & received.keys()
    assert CANARY not in repr(received)


def test_it_drops_credentials_on_a_redirect_to_another_port_of_the_same_host(serve):
    other_port = serve({"/": ok})
    server = serve({"/": redirect_to(f"{other_port.url}/")})
    fetch(
        f"{server.url}/", headers=credential_headers(), sensitive_headers=frozenset({"x-api-key"})
    )
    assert not {"authorization", "x-api-key", "cookie"} & other_port.seen[0].headers.keys()


def test_it_keeps_credentials_on_a_same_origin_redirect(serve):
    server = serve({"/a": redirect_to("/b"), "/b": ok})
    fetch(
        f"{server.url}/a", headers=credential_headers(), sensitive_headers=frozenset({"X-API-Key"})
    )
    assert server.seen[1].headers["authorization"] == f"Bearer {CANARY}"
    assert server.seen[1].headers["x-api-key"] == CANARY


def test_it_keeps_credentials_dropped_for_the_rest_of_the_chain(serve):
    origin = serve({"/back": ok})
    elsewhere = serve({"/": redirect_to(f"{origin.url}/back")})
    origin.httpd.routes["/start"] = redirect_to(f"{elsewhere.localhost_url}/")
    fetch(f"{origin.url}/start", headers=credential_headers())
    assert "authorization" not in origin.seen[1].headers


@pytest.mark.parametrize("status", [301, 302, 303])
def test_it_turns_a_post_into_a_get_without_body(serve, status):
    server = serve({"/submit": redirect_to("/done", status), "/done": ok})
    fetch(
        f"{server.url}/submit",
        method="POST",
        body=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    done = server.seen[1]
    assert (done.method, done.body) == ("GET", b"")
    assert "content-type" not in done.headers


@pytest.mark.parametrize("status", [307, 308])
def test_it_repeats_method_and_body_on_a_same_origin_307_or_308(serve, status):
    server = serve({"/submit": redirect_to("/again", status), "/again": ok})
    fetch(f"{server.url}/submit", method="POST", body=b"a=1")
    assert (server.seen[1].method, server.seen[1].body) == ("POST", b"a=1")


def test_it_refuses_to_resend_a_body_to_another_origin(serve):
    # SECURITY.md pitfall 5: a 307 must not carry a client secret to another host.
    attacker = serve({"/": ok})
    server = serve({"/token": redirect_to(f"{attacker.localhost_url}/", status=307)})
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/token", method="POST", body=f"client_secret={CANARY}".encode())
    assert caught.value.code == "outbound.redirect_not_allowed"
    assert attacker.connections == 0


def test_it_returns_a_redirect_without_location_as_is(serve):
    server = serve({"/": lambda h: h.reply(302, b"")})
    assert fetch(f"{server.url}/").status == 302
