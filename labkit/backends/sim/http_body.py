"""A request's body, as labkit's served APIs read it (the Kubernetes API and the Docker Engine API).

By Content-Length or chunked, never more than `limit` bytes, so one client's junk costs only its own
connection: a length that is not a whole number, a short body or a chunk without a valid size is a
400, more than the limit a 413 (what was sent is read up to a bound first, so the client hears the
answer). Each server words the refusal its own way from `BodyError.problem`.
"""
from __future__ import annotations

import re
from typing import BinaryIO, Mapping

WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")
CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,8}")


class BodyError(Exception):
    """A body that cannot be read: `code` 400 or 413, `problem` one of "length", "short", "chunk",
    "too large"; `detail` the offending Content-Length, if any. The connection must be closed
    (where the next request starts is unknown)."""

    def __init__(self, code: int, problem: str, detail: str = "") -> None:
        super().__init__(problem)
        self.code, self.problem, self.detail = code, problem, detail


def read_body(rfile: BinaryIO, headers: Mapping[str, str], limit: int) -> bytes:
    """The body of the request whose `headers` were read from `rfile`."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        return _read_chunks(rfile, limit)
    text = (headers.get("Content-Length") or "").strip()
    if not text:
        return b""
    if not WHOLE_NUMBER.fullmatch(text):
        raise BodyError(400, "length", text[:40])
    length = int(text)
    if length > limit:
        left = min(length, 16 * limit)
        while left > 0:
            chunk = rfile.read(min(left, 1 << 16))
            if not chunk:
                break
            left -= len(chunk)
        raise BodyError(413, "too large")
    raw = rfile.read(length)
    if len(raw) < length:
        raise BodyError(400, "short")
    return raw


def _read_chunks(rfile: BinaryIO, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_text = rfile.readline(64).split(b";")[0].strip()
        if not CHUNK_SIZE.fullmatch(size_text):
            raise BodyError(400, "chunk")
        size = int(size_text, 16)
        if size == 0:
            while rfile.readline(1024).strip():  # trailers
                pass
            return bytes(body)
        if len(body) + size > limit:
            raise BodyError(413, "too large")
        body += rfile.read(size)
        rfile.readline(8)  # the CRLF after the chunk
