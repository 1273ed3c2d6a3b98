"""A loopback HTTP server that answers every conditional GET with 304 (for the poll-cycle benchmark).
Prints its port on the first line of stdout."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class NotModified(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.headers.get("If-None-Match") == '"same"':
            self.send_response(304)
            self.send_header("ETag", '"same"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"<rss version='2.0'><channel><title>x</title></channel></rss>"
        self.send_response(200)
        self.send_header("ETag", '"same"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotModified)
    print(server.server_address[1], flush=True)
    server.serve_forever()
