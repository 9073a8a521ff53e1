"""Running the app under uvicorn with a deadline on request headers.

uvicorn times out idle keep-alive connections but not a client that connects and then
trickles its request line and headers a byte at a time: the ASGI app is only called once
the headers are complete, so no middleware can see such a client. ``HeaderDeadline`` is a
mixin for uvicorn's HTTP protocol classes: from the moment a connection opens (or its
previous answer is sent) the next request's headers must be complete within
``header_timeout`` seconds, or the server answers 408 and closes the connection. The body
deadline is ``limits.BodyGuard``'s.
"""

import logging

import orjson
import uvicorn

_TIMEOUT_BODY = orjson.dumps({"error": "request_timeout", "detail": "request headers not received in time"})
TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
                    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY)


class HeaderDeadline:
    """Mixin (before a uvicorn protocol class): close connections whose headers do not arrive in time."""

    header_timeout = 10.0

    def _arm_header_deadline(self):
        self._disarm_header_deadline()
        self._header_bytes = False
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline_passed)

    def _disarm_header_deadline(self):
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _header_deadline_passed(self):
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return                     # a request is being served; its body has BodyGuard's deadline
        if not self.transport.is_closing():
            if self._header_bytes:
                self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()

    def connection_made(self, transport):
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data):
        self._header_bytes = True
        super().data_received(data)

    def on_response_complete(self):
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_deadline()

    def connection_lost(self, exc):
        self._disarm_header_deadline()
        super().connection_lost(exc)


def protocol_class(header_timeout):
    """uvicorn's fastest available HTTP/1.1 protocol with HeaderDeadline mixed in."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    return type("Deadline" + base.__name__, (HeaderDeadline, base), {"header_timeout": float(header_timeout)})


def server_config(app, host, port, limits, log_level="warning"):
    """uvicorn.Config for ``app`` honouring ``limits`` (our access log replaces uvicorn's)."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                          http=protocol_class(limits.header_timeout), timeout_keep_alive=5)


def run(app, host, port, limits, access_log=True):
    """Serve until interrupted; access lines (method, path, status, ms) go to stderr."""
    logger = logging.getLogger("onesheet.serve.access")
    if access_log and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    uvicorn.Server(server_config(app, host, port, limits)).run()
