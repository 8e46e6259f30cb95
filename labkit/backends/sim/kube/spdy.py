"""SPDY/3.1 framing, the server's side, as kubectl's port-forward speaks it (moby/spdystream: spdy/read.go,
spdy/write.go, spdy/types.go, dictionary.go; k8s.io/apimachinery/pkg/util/httpstream/spdy).

    framer = Framer(wire)                  # wire: read_exact(n) -> bytes, write(data)
    frame = framer.read()                  # one Frame: SYN_STREAM, DATA, PING, RST_STREAM, GOAWAY...
    framer.reply(frame.stream)             # SYN_REPLY: the stream is accepted (the client drops data before it)
    framer.data(stream, b"...", fin=True)

A control frame is `1 | version(15) | type(16) | flags(8) | length(24) | payload`, a data frame
`0 | stream id(31) | flags(8) | length(24) | data`. Header blocks are zlib-compressed with SPDY/3's
dictionary, one compression context per direction for the whole connection (so every block is
read and written in order, each ended by a sync flush).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN, FLAG_UNIDIRECTIONAL = 0x01, 0x02
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL = 1, 2, 3, 5  # RST_STREAM status codes
GOAWAY_OK, GOAWAY_PROTOCOL_ERROR = 0, 1
MAX_FRAME = 1 << 24  # the length field's 24 bits
MAX_HEADER_BLOCK = 1 << 20  # a header block that inflates past 1 MiB is junk
DATA_CHUNK = 32 * 1024  # spdystream writes what it is given; 32 KiB frames keep one stream from hogging the wire

# SPDY/3's header dictionary (draft-mbelshe-httpbis-spdy-00 section 2.6.10.1, spdystream's dictionary.go):
# length-prefixed words, then a run of status lines, dates and media types.
_WORDS = ("options head post put delete trace accept accept-charset accept-encoding accept-language "
          "accept-ranges age allow authorization cache-control connection content-base content-encoding "
          "content-language content-length content-location content-md5 content-range content-type date etag "
          "expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since "
          "last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer "
          "retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate "
          "method get status 200_OK version HTTP/1.1 url public set-cookie keep-alive origin")
_TAIL = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
         "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
         "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
         "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
         "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
         "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")


def _dictionary() -> bytes:
    words = [w.replace("_", " ") for w in _WORDS.split(" ")]  # "200_OK": the one word with a space
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + _TAIL.encode()


DICTIONARY = _dictionary()


class ProtocolError(Exception):
    """The peer sent something that is not SPDY/3: the connection cannot go on (a GOAWAY, then close)."""


class Closed(Exception):
    """The wire under the framer ended (the client left, the server stops, or it was idle too long)."""


@dataclass(frozen=True)
class Frame:
    kind: int  # 0 for DATA, else the control frame's type
    stream: int = 0  # the stream it is about (a PING's id, a GOAWAY's last good stream)
    flags: int = 0
    data: bytes = b""  # a DATA frame's payload
    headers: dict[str, list[str]] = field(default_factory=dict)  # SYN_STREAM's, HEADERS'
    status: int = 0  # RST_STREAM's, GOAWAY's

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)

    def header(self, name: str) -> str:
        return (self.headers.get(name) or [""])[0]


class Framer:
    """Reads and writes SPDY/3 frames on `wire` (anything with `read_exact(n)` and `write(data)`)."""

    def __init__(self, wire) -> None:
        self.wire = wire
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, 15, zdict=DICTIONARY)

    # -- reading -------------------------------------------------------------------------------
    def read(self) -> Frame:
        head = self.wire.read_exact(8)
        first, second = struct.unpack(">II", head)
        flags, length = second >> 24, second & 0xFFFFFF
        payload = self.wire.read_exact(length) if length else b""
        if not first & 0x80000000:
            return Frame(0, first & 0x7FFFFFFF, flags, data=payload)
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"SPDY version {version}, not 3")
        return self._control(kind, flags, payload)

    def _control(self, kind: int, flags: int, payload: bytes) -> Frame:
        if kind == SYN_STREAM:
            if len(payload) < 10:
                raise ProtocolError("a SYN_STREAM frame shorter than its fixed fields")
            stream = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            if stream == 0:
                raise ProtocolError("a SYN_STREAM frame for stream 0")
            return Frame(kind, stream, flags, headers=self._headers(payload[10:]))
        if kind in (SYN_REPLY, HEADERS):
            if len(payload) < 4:
                raise ProtocolError("a header frame shorter than its stream id")
            return Frame(kind, struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF, flags,
                         headers=self._headers(payload[4:]))
        if kind in (RST_STREAM, GOAWAY, WINDOW_UPDATE):
            if len(payload) != 8:
                raise ProtocolError(f"a control frame of type {kind} must be 8 bytes long, not {len(payload)}")
            stream, status = struct.unpack(">II", payload)
            return Frame(kind, stream & 0x7FFFFFFF, flags, status=status)
        if kind == PING:
            if len(payload) != 4:
                raise ProtocolError(f"a PING frame must be 4 bytes long, not {len(payload)}")
            return Frame(kind, struct.unpack(">I", payload)[0], flags)
        if kind == SETTINGS:
            return Frame(kind, 0, flags, data=payload)  # nothing here depends on them (spdystream ignores them too)
        raise ProtocolError(f"unknown SPDY control frame type {kind}")

    def _headers(self, block: bytes) -> dict[str, list[str]]:
        """A name/value block: count, then (length, name, length, values joined by NUL) each."""
        try:
            raw = self._inflate.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as error:
            raise ProtocolError(f"a header block that does not inflate: {error}") from None
        if self._inflate.unconsumed_tail:
            raise ProtocolError("a header block larger than 1 MiB")
        try:
            count, at = struct.unpack_from(">I", raw)[0], 4
            headers: dict[str, list[str]] = {}
            for _ in range(count):
                size = struct.unpack_from(">I", raw, at)[0]
                name, at = raw[at + 4:at + 4 + size].decode("latin-1").lower(), at + 4 + size
                size = struct.unpack_from(">I", raw, at)[0]
                value, at = raw[at + 4:at + 4 + size].decode("latin-1"), at + 4 + size
                if at > len(raw):
                    raise ProtocolError("a header block shorter than its lengths")
                headers.setdefault(name, []).extend(value.split("\0"))
            return headers
        except struct.error:
            raise ProtocolError("a header block shorter than its lengths") from None

    # -- writing -------------------------------------------------------------------------------
    def _control_frame(self, kind: int, flags: int, payload: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload

    def _block(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers)) + b"".join(
            struct.pack(">I", len(k)) + k.lower().encode() + struct.pack(">I", len(v)) + v.encode()
            for k, v in sorted(headers.items()))
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def reply(self, stream: int, headers: dict[str, str] | None = None, fin: bool = False) -> None:
        """SYN_REPLY: the stream is accepted (spdystream's newSpdyStream replies with no headers)."""
        payload = struct.pack(">I", stream) + self._block(headers or {})
        self.wire.write(self._control_frame(SYN_REPLY, FLAG_FIN if fin else 0, payload))

    def data(self, stream: int, data: bytes, fin: bool = False) -> None:
        chunks = [data[at:at + DATA_CHUNK] for at in range(0, len(data), DATA_CHUNK)] or [b""]
        for number, chunk in enumerate(chunks):
            last = fin and number == len(chunks) - 1
            self.wire.write(struct.pack(">II", stream, ((FLAG_FIN if last else 0) << 24) | len(chunk)) + chunk)

    def reset(self, stream: int, status: int = CANCEL) -> None:
        self.wire.write(self._control_frame(RST_STREAM, 0, struct.pack(">II", stream, status)))

    def ping(self, ping_id: int) -> None:
        self.wire.write(self._control_frame(PING, 0, struct.pack(">I", ping_id)))

    def goaway(self, last_stream: int, status: int = GOAWAY_OK) -> None:
        self.wire.write(self._control_frame(GOAWAY, 0, struct.pack(">II", last_stream, status)))
