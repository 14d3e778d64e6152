"""Reading a response body with a cap on both the bytes received and the bytes decoded.

Decompression is done here, not by the HTTP library, so that a compression bomb is cut off
as soon as the decoded output passes the cap: each decompression step is asked for at most
the bytes still allowed (plus one, to detect overflow), so memory never exceeds the cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from plugins.outbound import errors
from plugins.outbound.deadline import Deadline
from plugins.outbound.errors import FetchError

ACCEPT_ENCODING = "gzip, deflate"

# zlib's "automatic header detection": accepts gzip and zlib-wrapped streams.
_AUTO_HEADER_WBITS = 32 + zlib.MAX_WBITS


def read_body(
    chunks: Iterable[bytes], *, content_encoding: str, max_bytes: int, deadline: Deadline
) -> bytes:
    """Join `chunks` (raw, still encoded), decode them and return at most `max_bytes` bytes.

    Raises FetchError: too_large when the raw or decoded size passes `max_bytes`, timeout when
    the deadline passes between chunks, protocol_error for an unsupported or truncated encoding.
    """
    decoder = _decoder_for(content_encoding)
    body = bytearray()
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > max_bytes:
            raise _too_large()
        body += decoder.decode(chunk, limit=max_bytes - len(body))
        if deadline.remaining() <= 0:
            raise FetchError(errors.TIMEOUT, "The server did not answer in time.", transient=True)
    decoder.finish()
    return bytes(body)


class _Identity:
    def decode(self, data: bytes, *, limit: int) -> bytes:
        if len(data) > limit:
            raise _too_large()
        return data

    def finish(self) -> None:
        pass


class _Zlib:
    def __init__(self) -> None:
        self._stream = zlib.decompressobj(_AUTO_HEADER_WBITS)
        self._fed = False

    def decode(self, data: bytes, *, limit: int) -> bytes:
        output = bytearray()
        self._fed = self._fed or bool(data)
        while data and not self._stream.eof:  # bytes after the end of the stream are ignored
            try:
                output += self._stream.decompress(data, limit - len(output) + 1)
            except zlib.error:
                raise FetchError(
                    errors.PROTOCOL_ERROR, "The server sent a corrupt compressed body."
                ) from None
            if len(output) > limit:
                raise _too_large()
            data = self._stream.unconsumed_tail
        return bytes(output)

    def finish(self) -> None:
        if self._fed and not self._stream.eof:
            raise FetchError(errors.PROTOCOL_ERROR, "The compressed response body was truncated.")


def _decoder_for(content_encoding: str) -> _Identity | _Zlib:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return _Identity()
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Zlib()
    raise FetchError(errors.PROTOCOL_ERROR, "The server used an unsupported content encoding.")


def _too_large() -> FetchError:
    return FetchError(errors.TOO_LARGE, "The response is larger than allowed.")
