#!/usr/bin/env python3
"""An OpenAI-compatible chat-completions endpoint for benchmarks: every answer waits LATENCY seconds, then says "3"
(with a usage field). Threaded, HTTP/1.1 keep-alive. Usage: fake_model.py PORT LATENCY_SECONDS"""
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, LATENCY = int(sys.argv[1]), float(sys.argv[2])
calls = 0
lock = threading.Lock()
BODY = json.dumps({"id": "bench", "object": "chat.completion", "model": "bench",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "3"}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 120, "completion_tokens": 1, "total_tokens": 121}}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out as two writes: without this, Nagle's algorithm and the client's delayed ACK add
        # 40 ms to every answer, which would be the fake's latency, not the server's.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        global calls
        self.rfile.read(int(self.headers.get("content-length", "0")))
        time.sleep(LATENCY)
        with lock:
            calls += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def do_GET(self):  # GET /calls: how many completions were answered
        body = str(calls).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 256
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
