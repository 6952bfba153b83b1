"""A stand-in for CDS Sesame (``.../nph-sesame/-oxp/SNV?NAME``), served on 127.0.0.1.

It answers Sesame's XML for the names in ``positions`` and Sesame's
"Nothing found" for any other; ``garbage`` makes it answer HTML instead.
Every name asked is recorded. Tests never reach the real resolver.
"""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

# Shaped as Sesame's -oxp answer for M31 (SIMBAD), trimmed.
FOUND = """<?xml version="1.0" encoding="UTF-8"?>
<Sesame xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<Target option="SNV">
  <name>{name}</name>
  <Resolver name="S=Simbad (via url):    1">
    <INFO>from cache</INFO>
    <otype>AGN</otype>
    <jpos>00:42:44.33 +41:16:07.5</jpos>
    <jradeg>{ra}</jradeg>
    <jdedeg>{dec}</jdedeg>
  </Resolver>
</Target>
</Sesame>
"""
NOT_FOUND = """<?xml version="1.0" encoding="UTF-8"?>
<Sesame xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<Target option="SNV">
  <name>{name}</name>
  <Resolver name="S=Simbad (via url):    1"><INFO>*** Nothing found *** </INFO></Resolver>
  <Resolver name="N=NED:    0"><INFO>*** Nothing found *** </INFO></Resolver>
</Target>
</Sesame>
"""


@dataclass
class SesameStub:
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    garbage: bool = False
    asked: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/cgi-bin/nph-sesame/-oxp/SNV"

    def start(self) -> "SesameStub":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stub._answer(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        name = unquote(urlsplit(handler.path).query)
        self.asked.append(name)
        if self.garbage:
            body, media_type = b"<html><body>maintenance</body></html>", "text/html"
        elif name in self.positions:
            ra, dec = self.positions[name]
            body, media_type = FOUND.format(name=escape(name), ra=ra, dec=dec).encode(), "text/xml"
        else:
            body, media_type = NOT_FOUND.format(name=escape(name)).encode(), "text/xml"
        handler.send_response(200)
        handler.send_header("Content-Type", media_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
