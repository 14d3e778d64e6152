import gzip
import logging
import pickle
import tracemalloc
import zlib

import pytest

from plugins.outbound import (
    DOCUMENT_CONTENT_TYPES,
    LOGO_CONTENT_TYPES,
    USER_AGENT,
    FetchError,
    fetch,
)

from .conftest import elapsed_of

MB = 1024 * 1024
MANIFEST_LIMIT = 256 * 1024  # a caller's limit; the outbound client knows no document kinds
CANARY = "canary-7f3a9c1e-secret"


def manifest(handler):
    handler.reply(
        200,
        b'{"name": "weather"}',
        content_type="application/json; charset=utf-8",
        headers={"X-Upstream": "one"},
    )


def test_it_fetches_a_document(serve):
    server = serve({"/manifest.json": manifest})
    result = fetch(f"{server.url}/manifest.json#ignored", max_bytes=MANIFEST_LIMIT)
    assert result.status == 200
    assert result.content == b'{"name": "weather"}'
    assert result.content_type == "application/json"
    assert result.headers["x-upstream"] == "one"
    assert result.url == f"{server.url}/manifest.json#ignored"
    assert result.final_url == f"{server.url}/manifest.json"
    assert result.redirects == ()
    assert 0 <= result.elapsed < 30  # measured and plausible; speed belongs in make bench
    assert server.seen[0].headers["user-agent"] == USER_AGENT
    assert server.seen[0].headers["host"] == f"127.0.0.1:{server.port}"


@pytest.mark.parametrize("status", [404, 500, 503])
def test_it_returns_error_statuses_instead_of_raising(serve, status):
    server = serve({"/": lambda h: h.reply(status, b"nope", content_type="text/html")})
    result = fetch(f"{server.url}/", accept_content_types=LOGO_CONTENT_TYPES)
    assert result.status == status
    assert result.content == b"nope"


def test_it_sends_the_method_body_and_headers(serve):
    server = serve({"/echo": lambda h: h.reply(201, h.server.seen[-1].body)})
    result = fetch(
        f"{server.url}/echo",
        method="post",
        body=b'{"q": 1}',
        headers={"Content-Type": "application/json", "X-Trace": "abc"},
    )
    assert result.status == 201
    assert result.content == b'{"q": 1}'
    seen = server.seen[0]
    assert (seen.method, seen.body) == ("POST", b'{"q": 1}')
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["x-trace"] == "abc"


def test_it_returns_no_body_for_head(serve):
    server = serve({"/": manifest})
    result = fetch(f"{server.url}/", method="HEAD")
    assert (result.status, result.content) == (200, b"")


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress)],
)
def test_it_decodes_compressed_bodies(serve, encoding, compress):
    document = b'{"openapi": "3.1.0"}' * 100
    server = serve(
        {"/": lambda h: h.reply(200, compress(document), headers={"Content-Encoding": encoding})}
    )
    assert fetch(f"{server.url}/").content == document
    assert "gzip" in server.seen[0].headers["accept-encoding"]


def test_it_refuses_an_unsupported_content_encoding(serve):
    server = serve({"/": lambda h: h.reply(200, b"\x00" * 10, headers={"Content-Encoding": "br"})})
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/")
    assert caught.value.code == "outbound.protocol_error"


def test_it_refuses_a_truncated_compressed_body(serve):
    truncated = gzip.compress(b"x" * 10000)[:-12]
    server = serve({"/": lambda h: h.reply(200, truncated, headers={"Content-Encoding": "gzip"})})
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/")
    assert caught.value.code == "outbound.protocol_error"


def declares_50mb(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(50 * MB))
    handler.end_headers()
    handler.wait(10)  # never sends the body: a client that tries to read it would hang


def test_it_refuses_a_declared_length_above_the_cap_before_reading(serve):
    server = serve({"/": declares_50mb})
    elapsed, error = elapsed_of(lambda: fetch(f"{server.url}/", max_bytes=MB, timeout=8))
    assert isinstance(error, FetchError)
    assert error.code == "outbound.too_large"
    assert elapsed < 7  # well before the 8 s deadline the server would otherwise run into


def test_it_answers_head_without_reading_the_declared_body(serve):
    server = serve({"/": declares_50mb})
    elapsed, error = elapsed_of(lambda: fetch(f"{server.url}/", method="HEAD", max_bytes=MB))
    assert error is None
    assert elapsed < 8  # the server holds the body back for 10 s


def chunked_50mb(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"x" * 65536
    handler.server.sent = 0
    for _ in range(50 * MB // len(chunk)):
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        handler.server.sent += len(chunk)
    handler.wfile.write(b"0\r\n\r\n")


def test_it_cuts_off_a_chunked_body_above_the_cap(serve):
    server = serve({"/": chunked_50mb})
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/", max_bytes=MANIFEST_LIMIT)
    assert caught.value.code == "outbound.too_large"
    server.wait_handled()
    assert server.httpd.sent < 20 * MB  # the server was cut off long before the end


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MB)
    return b"".join([*(compressor.compress(zeros) for _ in range(64)), compressor.flush()])


def test_it_cuts_off_a_gzip_bomb_without_decompressing_it(serve, gzip_bomb):
    assert len(gzip_bomb) < 100 * 1024  # 64 MiB of zeros on the wire in well under the cap
    server = serve({"/": lambda h: h.reply(200, gzip_bomb, headers={"Content-Encoding": "gzip"})})
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as caught:
            fetch(f"{server.url}/", max_bytes=MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code == "outbound.too_large"
    assert peak < 16 * MB


def test_it_refuses_an_unexpected_content_type_before_reading(serve):
    server = serve(
        {
            "/logo.png": lambda h: h.reply(
                200, b"<html>", content_type='text/html; charset="<script>"'
            )
        }
    )
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/logo.png", accept_content_types=LOGO_CONTENT_TYPES)
    assert caught.value.code == "outbound.unexpected_content_type"
    # It names the media type that arrived (parsed to a bare token pair), never the raw header.
    assert "text/html" in caught.value.message
    assert "<script>" not in caught.value.message


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "text/plain; charset=utf-8",
        "application/octet-stream",
        "application/x-yaml",
        "application/vnd.oai.openapi+json",
        "TEXT/YAML",
        "",
    ],
)
def test_it_accepts_the_ways_plugin_servers_send_documents(serve, content_type):
    server = serve({"/": lambda h: h.reply(200, b"{}", content_type=content_type)})
    assert fetch(f"{server.url}/", accept_content_types=DOCUMENT_CONTENT_TYPES).status == 200


@pytest.mark.parametrize("content_type", ["image/png", "image/svg+xml", "image/webp"])
def test_it_accepts_logo_images(serve, content_type):
    server = serve({"/": lambda h: h.reply(200, b"\x89PNG", content_type=content_type)})
    result = fetch(f"{server.url}/", accept_content_types=LOGO_CONTENT_TYPES)
    assert result.content_type == content_type


def test_it_refuses_a_connection_that_cannot_be_made(refusing_port):
    with pytest.raises(FetchError) as caught:
        fetch(f"http://127.0.0.1:{refusing_port}/", timeout=3)
    assert caught.value.code == "outbound.connect_failed"
    assert caught.value.transient is True


@pytest.mark.parametrize(
    "name", ["Host", "host", "Content-Length", "Transfer-Encoding", "Connection", "Accept-Encoding"]
)
def test_it_does_not_let_callers_set_client_controlled_headers(name):
    with pytest.raises(ValueError, match=name):
        fetch("http://127.0.0.1:8150/", headers={name: "x"})


def test_it_rejects_header_values_with_line_breaks_without_echoing_them():
    with pytest.raises(ValueError, match="X-API-Key") as caught:
        fetch("http://127.0.0.1:8150/", headers={"X-API-Key": f"{CANARY}\r\nX-Evil: 1"})
    assert CANARY not in str(caught.value)


def leaks_in_a_bad_response(handler):
    handler.wfile.write(
        f"HTTP/1.1 200 OK\r\nX-Token: {CANARY}\r\nBroken header {CANARY}\r\n\r\n".encode()
    )


def test_it_keeps_wire_content_out_of_errors(serve):
    server = serve({"/": leaks_in_a_bad_response})
    with pytest.raises(FetchError) as caught:
        fetch(f"{server.url}/")
    error = caught.value
    assert error.code == "outbound.protocol_error"
    assert CANARY not in error.message
    assert CANARY not in repr(error)
    assert error.__cause__ is None
    assert error.__suppress_context__ is True


def test_it_keeps_secrets_out_of_logs(serve, caplog, refusing_port):
    server = serve({"/": lambda h: h.reply(200, CANARY.encode(), headers={"X-Token": CANARY})})
    with caplog.at_level(logging.DEBUG):
        fetch(f"{server.url}/?api_key={CANARY}", headers={"Authorization": f"Bearer {CANARY}"})
        with pytest.raises(FetchError):
            fetch(
                f"http://127.0.0.1:{refusing_port}/?api_key={CANARY}",
                headers={"Authorization": f"Bearer {CANARY}"},
            )
    assert caplog.records  # the client does log, just not secrets
    assert CANARY not in caplog.text


def test_it_hides_headers_and_content_from_the_result_repr(serve):
    server = serve({"/": lambda h: h.reply(200, CANARY.encode(), headers={"X-Token": CANARY})})
    assert CANARY not in repr(fetch(f"{server.url}/"))


def test_its_errors_survive_pickling_for_celery():
    error = pickle.loads(pickle.dumps(FetchError("outbound.timeout", "Too slow.", transient=True)))
    assert (error.code, error.message, error.transient) == ("outbound.timeout", "Too slow.", True)


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"method": "TRACE"}, "method"),
        ({"method": "CONNECT"}, "method"),
        ({"max_bytes": -1}, "max_bytes"),
        ({"timeout": 0}, "timeout"),
        ({"connect_timeout": -1}, "timeout"),
        ({"max_redirects": -1}, "max_redirects"),
        ({"body": "text, not bytes"}, "body"),
    ],
)
def test_it_rejects_invalid_arguments(kwargs, complaint):
    with pytest.raises(ValueError, match=complaint):
        fetch("http://127.0.0.1:8150/", **kwargs)
