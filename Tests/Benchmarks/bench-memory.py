#!/usr/bin/env python3
"""Resident memory of `urgencyiq serve` through the scenarios of issue 10 (make bench-memory):
32 concurrent candidate checks whose rules overflow the Lua stack, one client listing 1,000 messages at a
time in a loop, 32 clients doing the same at once, then the steady state. Prints peak and after-figures in MiB."""
import csv, http.client, json, os, random, subprocess, sys, tempfile, threading, time

binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/urgencyiq"
work = tempfile.mkdtemp(prefix="uiq-bench-memory-")
port = 5091

# Our own sample traffic: 6,000 generated messages over 2,000 customers.
random.seed(10)
words = ("loan pay mpesa account blocked why rejected thanks please help money sent not received balance "
         "penalty crb clearance app login pin will tomorrow salary").split()
with open(f"{work}/messages.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["User ID", "Timestamp (UTC)", "Message Body"])
    for i in range(6000):
        writer.writerow([random.randint(1, 2000), f"2025-01-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}",
                         " ".join(random.choice(words) for _ in range(random.randint(5, 40)))])
db = f"{work}/bench.db"
subprocess.run([binary, "import", "--db", db, "--env-file", "/nonexistent", f"{work}/messages.csv"], check=True,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
server = subprocess.Popen([binary, "serve", "--port", str(port), "--db", db, "--log-format", "off", "--env-file", "/nonexistent"],
                          stderr=subprocess.DEVNULL, env=dict(os.environ, PER_IP_CONNECTION_LIMIT="0"))

def rss():
    with open(f"/proc/{server.pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1]) // 1024

for _ in range(200):
    try:
        http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/api/health"); break
    except OSError: time.sleep(0.05)

class Peak:
    def __enter__(self):
        self.value, self.stop = rss(), False
        def sample():
            while not self.stop: self.value = max(self.value, rss()); time.sleep(0.01)
        self.thread = threading.Thread(target=sample); self.thread.start(); return self
    def __exit__(self, *_):
        self.stop = True; self.thread.join()

def together(count, work):
    threads = [threading.Thread(target=work) for _ in range(count)]
    for t in threads: t.start()
    for t in threads: t.join()

overflow = "local function f(n) return f(n + 1) + 1 end\nfunction score(message, ctx)\n  return f(1)\nend\n"
def check():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/api/rules/check", body=json.dumps({"urgency.lua": overflow}), headers={"Content-Type": "application/json"})
    c.getresponse().read()
def listings(count):
    def run():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for _ in range(count):
            c.request("GET", "/api/messages?status=all&limit=1000"); c.getresponse().read()
    return run

print(f"idle after start: {rss()} MiB")
with Peak() as peak: together(32, check)
print(f"32 concurrent candidate checks overflowing the Lua stack: peak {peak.value} MiB, after {rss()} MiB")
with Peak() as peak: listings(300)()
print(f"one client, 300 listings of 1,000 messages: peak {peak.value} MiB, after {rss()} MiB")
with Peak() as peak: together(32, listings(50))
print(f"32 clients, 50 listings of 1,000 messages each: peak {peak.value} MiB, after {rss()} MiB")
time.sleep(12)
print(f"steady, 12 s later: {rss()} MiB")
server.terminate(); server.wait()
subprocess.run(["rm", "-rf", work])
