#!/usr/bin/env python3
# tests/notify-server.py PORTFILE OUT [SECONDS] — a local HTTP server on the loopback for
# the [notify] tests: each POST body is appended to OUT as one line, the port it
# listens on is written to PORTFILE, and it stops by itself after SECONDS (default 60).
import http.server
import sys
import time

portfile, out = sys.argv[1], sys.argv[2]
limit = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body.rstrip(b"\n") + b"\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
server.timeout = 0.2
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
end = time.time() + limit
while time.time() < end:
    server.handle_request()
