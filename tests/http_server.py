"""A small HTTP server on 127.0.0.1 for the download tests.

It serves in-memory files under mirror paths (``/HOST/PATH``, see
``cvlab_ch9.download.mirrored``) and can misbehave on purpose: ignore ``Range``,
cut a transfer off, or stall past the client's timeout.
"""

import contextlib
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    """How the server treats requests (change it between requests).

    Attributes:
        ranges: answer ``Range`` requests with 206 (False: always 200, the whole file).
        cut_after: close the connection after sending this many body bytes
            (once per listed path, then serve normally); {path: bytes}.
        stall_after: stop sending (sleep ``stall_seconds``) after this many body bytes.
    """

    ranges: bool = True
    cut_after: dict = field(default_factory=dict)
    stall_after: int | None = None
    stall_seconds: float = 5.0


class _Handler(BaseHTTPRequestHandler):
    server: "LoopbackServer"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        owner = self.server.owner
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        owner.requests.append((path, self.headers.get("Range")))
        body = owner.files.get(path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and owner.behaviour.ranges:
            start = int(match.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self._send(path, body[start:])

    def _send(self, path, payload):
        behaviour = self.server.owner.behaviour
        cut = behaviour.cut_after.pop(path, None)
        if cut is not None:
            self.wfile.write(payload[:cut])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if behaviour.stall_after is not None:
            self.wfile.write(payload[: behaviour.stall_after])
            self.wfile.flush()
            time.sleep(behaviour.stall_seconds)
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(payload)


class LoopbackServer:
    """``with LoopbackServer() as server``: files in ``server.files``, base URL ``server.url``.

    Args:
        port: the port to listen on (0, the default: a free one).
    """

    def __init__(self, port=0):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.behaviour = Behaviour()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def add(self, url: str, body: bytes) -> None:
        """Serve ``body`` for the real ``url`` under its mirror path."""
        parts = urllib.parse.urlsplit(url)
        self.files[f"/{parts.netloc}{parts.path}"] = body

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()


def refused_url() -> str:
    """A loopback base URL on which nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
