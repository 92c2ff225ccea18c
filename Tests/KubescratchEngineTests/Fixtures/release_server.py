#!/usr/bin/env python3
"""A release-shaped HTTP server for setup's tests, on 127.0.0.1 only. Serves files from a folder, honours
Range requests, and injects faults by path prefix:
  /cut/<path>   sends half of the file, then closes the connection (the first time only)
  /slow/<path>  sends the file in small pieces with pauses (progress)
  /norange/<path>     ignores Range and sends the whole file with 200
  /wrongrange/<path>  answers a Range with 206 but from byte 0 (as some proxies do)
Prints its port on the first line of stdout, logs each request's path and Range header to <root>.requests,
and exits when its stdin closes, so a test that dies never leaves it running."""
import http.server
import os
import sys
import threading
import time

root = sys.argv[1]
cut_done = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path
        with open(root + ".requests", "a") as log:
            log.write(f"{path} {self.headers.get('Range', '-')}\n")
        mode = None
        for prefix in ("/cut/", "/slow/", "/norange/", "/wrongrange/"):
            if path.startswith(prefix):
                mode, path = prefix.strip("/"), "/" + path[len(prefix):]
        full = os.path.join(root, path.lstrip("/"))
        if not os.path.isfile(full):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = open(full, "rb").read()
        start = 0
        status = 200
        rng = self.headers.get("Range")
        if rng and mode == "wrongrange":
            self.send_response(206)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Range", f"bytes 0-{len(data) - 1}/{len(data)}")
            self.end_headers()
            self.wfile.write(data)
            return
        if rng and rng.startswith("bytes=") and mode != "norange":
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if mode == "cut" and path not in cut_done:
            cut_done.add(path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "slow":
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i:i + 65536])
                self.wfile.flush()
                time.sleep(0.04)
            return
        self.wfile.write(body)


def exit_when_parent_goes():
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=exit_when_parent_goes, daemon=True).start()
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
