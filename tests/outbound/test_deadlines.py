"""A total deadline, not per-socket timeouts (SECURITY.md pitfall 8).

Deadlines here are 1 s; the upper bounds leave 5 s of slack for a loaded 2-core machine, while
the servers would keep going for 10 s or more, so the tests fail only if the deadline is ignored.
"""

import pytest

from plugins.outbound import FetchError, fetch

from .conftest import drip, elapsed_of

DEADLINE = 1.0
SLACK = 5.0


def silent(handler):
    handler.wait(10)


def slow_body(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", "100")
    handler.end_headers()
    drip(handler, b"x" * 100, every=0.2)  # 20 s in total, each byte well within 1 s


def slow_headers(handler):
    drip(handler, b"HTTP/1.1 200 OK\r\n" + b"X-Padding: " + b"y" * 100 + b"\r\n\r\n", every=0.2)


def slow_hop(handler):
    handler.wait(0.45)
    handler.redirect(302, f"/hop{int(handler.path[4:]) + 1}")


def assert_cut_at_deadline(elapsed, error):
    assert isinstance(error, FetchError), error
    assert error.code == "outbound.timeout"
    assert error.transient is True
    assert DEADLINE * 0.9 <= elapsed < DEADLINE + SLACK


@pytest.mark.parametrize("route", [silent, slow_body, slow_headers])
def test_it_cuts_a_slow_server_off_at_the_total_deadline(serve, route):
    server = serve({"/": route})
    elapsed, error = elapsed_of(lambda: fetch(f"{server.url}/", timeout=DEADLINE))
    assert_cut_at_deadline(elapsed, error)


def test_it_counts_every_redirect_hop_against_the_same_deadline(serve):
    server = serve({f"/hop{i}": slow_hop for i in range(4)})
    elapsed, error = elapsed_of(
        lambda: fetch(f"{server.url}/hop0", timeout=DEADLINE, max_redirects=3)
    )
    assert_cut_at_deadline(elapsed, error)
    assert len(server.seen) >= 2  # each hop alone was within the deadline


def test_it_finishes_a_slow_but_timely_response(serve):
    def timely(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "3")
        handler.end_headers()
        drip(handler, b"abc", every=0.05)

    server = serve({"/": timely})
    assert fetch(f"{server.url}/", timeout=5).content == b"abc"
