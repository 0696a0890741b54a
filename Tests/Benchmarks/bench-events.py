#!/usr/bin/env python3
"""The cost of live subscribers (GET /api/events), as issue 14 asks: 1,000 idle subscribers must cost under 2 %
CPU and under 64 MB extra, keep /api/health p99 under 20 ms (wrk, 16 connections, while they are connected),
and an event must reach all of them within 1 s.

usage: bench-events.py BINARY [SUBSCRIBERS]   (make bench-events)
Starts the server on a fresh SQLite database in a temporary directory; prints the figures."""
import json, os, re, selectors, socket, statistics, subprocess, sys, tempfile, time

from local_server import free_port, wait_for_health

binary = os.path.abspath(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
ticks = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def idle_cpu_percent(pid, seconds):
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)  # measuring a rate over a fixed window, not waiting for a condition
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - started)


def health_p99(port):
    out = subprocess.run(["wrk", "-t2", "-c16", "-d5s", "--latency", f"http://127.0.0.1:{port}/api/health"],
                         capture_output=True, text=True).stdout
    match = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        return None, None
    value = float(match.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[match.group(2)]
    return value, float(rate.group(1)) if rate else None


def main():
    work = tempfile.mkdtemp(prefix="uiq-bench-events-")
    port = free_port()
    env = dict(os.environ, PER_IP_CONNECTION_LIMIT="0", CONNECTION_LIMIT="4096", URGENCYIQ_DB=f"{work}/bench.db")
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--log-format", "off", "--env-file", "/nonexistent"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(port)
        idle_rss = rss_mib(server.pid)
        idle_cpu = idle_cpu_percent(server.pid, 5)
        p99_before, rate_before = health_p99(port)

        selector = selectors.DefaultSelector()
        sockets = []
        for index in range(count):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /api/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
            s.setblocking(False)
            selector.register(s, selectors.EVENT_READ, index)
            sockets.append(s)
        buffers = [b""] * count

        def pump(until, predicate):
            """Reads until predicate() holds or the deadline passes, noting when each socket first had `marker`."""
            while time.monotonic() < until and not predicate():
                for key, _ in selector.select(timeout=0.05):
                    try:
                        data = key.fileobj.recv(65536)
                    except BlockingIOError:
                        continue
                    if data:
                        buffers[key.data] += data
                        if marker and key.data not in arrivals and marker in buffers[key.data]:
                            arrivals[key.data] = time.monotonic()

        arrivals, marker = {}, None
        pump(time.monotonic() + 30, lambda: all(b": connected" in b for b in buffers))
        connected = sum(b": connected" in b for b in buffers)
        time.sleep(1)  # let the allocator settle before reading memory
        subscribed_rss = rss_mib(server.pid)
        # CPU over 20 s: covers a keep-alive round (every 15 s) to all subscribers.
        started = cpu_seconds(server.pid), time.monotonic()
        pump(time.monotonic() + 20, lambda: False)
        subscribed_cpu = 100 * (cpu_seconds(server.pid) - started[0]) / (time.monotonic() - started[1])
        p99_during, rate_during = health_p99(port)

        fanouts = []
        for round in range(5):
            for i in range(count):
                buffers[i] = b""
            text = f"fan-out round {round} loan rejected"
            marker = text.encode()
            arrivals = {}
            sent = time.monotonic()
            body = json.dumps({"user_id": 42, "message": text}).encode()
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/api/messages/send", data=body,
                                                          headers={"Content-Type": "application/json"})).read()
            pump(time.monotonic() + 10, lambda: len(arrivals) == count)
            if len(arrivals) < count:
                fanouts.append((float("inf"), len(arrivals)))
            else:
                latencies = sorted(t - sent for t in arrivals.values())
                fanouts.append((latencies[-1] * 1000, statistics.median(latencies) * 1000))
        for s in sockets:
            s.close()

        print(f"subscribers connected: {connected} of {count}")
        print(f"server RSS idle {idle_rss:.1f} MiB, with {connected} subscribers {subscribed_rss:.1f} MiB: "
              f"+{subscribed_rss - idle_rss:.1f} MiB (target < 64)")
        print(f"server CPU idle {idle_cpu:.2f} % of a core, with the subscribers idle {subscribed_cpu:.2f} % (target < 2)")
        print(f"GET /api/health p99 {p99_before:.2f} ms ({rate_before:.0f}/s) without, {p99_during:.2f} ms ({rate_during:.0f}/s) "
              f"with the subscribers connected (target < 20)")
        maxima = [f[0] for f in fanouts]
        print("an event reaching every subscriber: " + ", ".join(
            f"all in {m:.0f} ms (median {f[1]:.0f})" if m != float("inf") else f"only {f[1]} reached" for m, f in zip(maxima, fanouts))
              + f"; median of the maxima {statistics.median(maxima):.0f} ms (target < 1000)")
    finally:
        server.terminate()
        server.wait(timeout=30)


main()
