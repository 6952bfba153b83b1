"""daphne's HTTP/1.1 channel, answering oversized or malformed requests in JSON.

daphne serves HTTP/1.1 with Twisted's ``HTTPChannel``, which drops a
connection whose request line exceeds 16 kB without a word (the client sees
"connection closed"), and answers a head over 16 kB or 500 header lines with
a bare ``400`` with no body. This channel answers those as the API answers
everything: ``414`` for the request line, ``431`` for the headers, ``400``
for a malformed head, each with a JSON ``{"detail": ...}``.

It reads (and throws away) the rest of an oversized head before answering:
closing a socket with unread bytes makes the kernel send a reset, and a
client still sending its 20 kB URL then loses the answer with it.
"""

import json

from daphne import server as daphne_server
from daphne.http_protocol import HTTPFactory
from twisted.web.http import HTTPChannel, _GenericHTTPChannelProtocol

# Past this, a head that never ends is cut off rather than read forever.
MAX_DISCARDED_BYTES = 1 << 20
_END_OF_HEAD = b"\r\n\r\n"
_REASONS = {400: "Bad Request", 414: "URI Too Long", 431: "Request Header Fields Too Large"}


def error_bytes(status: int, detail: str) -> bytes:
    """A complete HTTP/1.1 answer with the API's error body, closing the connection."""
    body = json.dumps({"detail": detail}).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class JsonLimitsChannel(HTTPChannel):
    _refusal: bytes | None = None
    _answered = False
    _tail = b""
    _discarded = 0

    def dataReceived(self, data):
        if self._refusal is None:
            return super().dataReceived(data)
        return self._discard(data)

    def lineLengthExceeded(self, line):
        # Nothing of this request counted yet: the request line is the long one.
        if self._receivedHeaderSize == 0:
            refusal = error_bytes(
                414, f"the request line is longer than {self.MAX_LENGTH} bytes; shorten the URL"
            )
        else:
            refusal = self._headers_too_large()
        self._refuse(refusal, line)

    def _respondToBadRequestAndDisconnect(self):
        if (
            self._receivedHeaderSize > self.totalHeadersSize
            or self._receivedHeaderCount > self.maxHeaders
        ):
            # Called from inside the line loop: take what it still holds.
            rest, self._buffer = self._buffer, b""
            self._refuse(self._headers_too_large(), rest)
            return
        self.transport.write(error_bytes(400, "malformed HTTP request"))
        self.loseConnection()

    def _headers_too_large(self) -> bytes:
        return error_bytes(
            431,
            f"the request headers are larger than {self.totalHeadersSize} bytes "
            f"or more than {self.maxHeaders} lines",
        )

    def _refuse(self, refusal: bytes, received: bytes) -> None:
        self._refusal = refusal
        self._discard(received)

    def _discard(self, data: bytes) -> None:
        if self._answered:
            return
        seen = self._tail + data
        self._discarded += len(data)
        if _END_OF_HEAD in seen or self._discarded > MAX_DISCARDED_BYTES:
            self.transport.write(self._refusal)
            self.transport.loseConnection()
            self._answered = True
            return
        self._tail = seen[-(len(_END_OF_HEAD) - 1) :]


class JsonLimitsHTTPFactory(HTTPFactory):
    """daphne's factory, building ``JsonLimitsChannel`` instead of Twisted's channel."""

    def protocol(self):
        return _GenericHTTPChannelProtocol(JsonLimitsChannel())


def install() -> None:
    """Make daphne's ``Server`` build its HTTP protocol with ``JsonLimitsHTTPFactory``.

    ``Server.run`` creates its factory by this module-level name, with no
    option to pass another; call before ``run``.
    """
    daphne_server.HTTPFactory = JsonLimitsHTTPFactory
