"""What the Python benchmark and test scripts share about the server they start on this machine: a free loopback
port, and waiting (with a deadline) until it answers /api/health."""
import socket
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(port, timeout=20, who="the server"):
    """Polls /api/health until it answers; exits with a message when it has not after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{who} did not start")
            time.sleep(0.05)
