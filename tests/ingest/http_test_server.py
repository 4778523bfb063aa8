#!/usr/bin/env python3
"""HTTP server for the ingest source tests: listens on 127.0.0.1 on a free port, prints the port on
its first line of output, serves until it is killed.

  http_test_server.py [--tls CERT KEY]

Routes:
  /file.csv          200, a small CSV (FILE_CSV below)
  /redirect          302 to /file.csv
  /redirect-loop     302 to itself
  /missing           404
  /flaky             500 for the first two requests, then 200 with FILE_CSV
  /always500         500
  /slow              200 headers and a few bytes, then silence for 60 s
  /big?bytes=N       200 with N bytes and a Content-Length
  /big-stream?bytes=N  200 with N bytes, no Content-Length (ends when the connection closes)
  /auth              403
  /hits?path=P       how many requests P has had (text)
"""
import http.server
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

FILE_CSV = b"id,name\n1,alice\n2,bob\n"

hits = {}
hits_lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so a body without Content-Length ends at close.
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def send_body(self, code, body, content_length=True):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        if content_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        with hits_lock:
            hits[url.path] = hits.get(url.path, 0) + 1
            count = hits[url.path]
        if url.path == "/file.csv":
            self.send_body(200, FILE_CSV)
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/file.csv")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/redirect-loop":
            self.send_response(302)
            self.send_header("Location", "/redirect-loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/flaky":
            if count <= 2:
                self.send_body(500, b"try again\n")
            else:
                self.send_body(200, FILE_CSV)
        elif url.path == "/always500":
            self.send_body(500, b"broken\n")
        elif url.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"id,name\n")
            self.wfile.flush()
            time.sleep(60)
        elif url.path in ("/big", "/big-stream"):
            size = int(query.get("bytes", ["1000000"])[0])
            self.send_response(200)
            if url.path == "/big":
                self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while size > 0:
                    n = min(size, len(chunk))
                    self.wfile.write(chunk[:n])
                    size -= n
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif url.path == "/auth":
            self.send_body(403, b"forbidden\n")
        elif url.path == "/hits":
            path = query.get("path", [""])[0]
            with hits_lock:
                n = hits.get(path, 0)
            self.send_body(200, str(n).encode())
        else:
            self.send_body(404, b"not found\n")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    server = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
