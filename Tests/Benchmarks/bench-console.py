#!/usr/bin/env python3
"""The console's first page over a large store, in a real browser (issue 14: the inbox over 1,000,000 tickets shows
its first page in under 300 ms; the first load transfers under 200 KB).

usage: bench-console.py BINARY DATABASE [RUNS]   (make bench-console: the million-message database bench-http builds)
Starts BINARY on DATABASE (a SQLite file), opens the console in headless Chromium RUNS times (fresh browser each
time, empty cache), and prints for each: the time from the start of navigation to the first ticket row on screen,
and the bytes transferred. Needs selenium (.build/tools) and chromium + chromium-driver."""
import os, statistics, subprocess, sys, tempfile, time, urllib.request

from local_server import free_port, wait_for_health

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

binary, database = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7

port = free_port()
server = subprocess.Popen([binary, "serve", "--port", str(port), "--db", database, "--log-format", "off", "--env-file", "/nonexistent",
                           "--no-watch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{port}"
# Records when the first ticket row is in the document (injected before the page's own scripts; CSP does not apply).
OBSERVER = """new MutationObserver((_, observer) => {
  if (document.querySelector('li.ticket-row')) { window.__firstRow = performance.now(); observer.disconnect(); }
}).observe(document, {childList: true, subtree: true});"""
try:
    wait_for_health(port, timeout=30)
    total = urllib.request.urlopen(base + "/api/messages?limit=1").headers.get("X-Total-Count")
    firsts, sizes = [], []
    for run in range(runs):
        options = webdriver.ChromeOptions()
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"]:
            options.add_argument(argument)
        if os.environ.get("CHROME_BIN"):
            options.binary_location = os.environ["CHROME_BIN"]
        driver = webdriver.Chrome(options=options, service=Service(os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")))
        try:
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER})
            driver.get(base + "/")
            end = time.monotonic() + 30
            first = None
            while first is None and time.monotonic() < end:
                first = driver.execute_script("return window.__firstRow || null")
            transferred = driver.execute_script("""
                const nav = performance.getEntriesByType('navigation')[0];
                return (nav ? nav.transferSize : 0)
                     + performance.getEntriesByType('resource').reduce((sum, r) => sum + r.transferSize, 0);""")
        finally:
            driver.quit()
        firsts.append(first if first is not None else float("inf"))
        sizes.append(transferred)
        print(f"run {run + 1}: first ticket row after {firsts[-1]:.0f} ms, {transferred / 1024:.0f} KB transferred")
    print(f"{total} tickets: first page median {statistics.median(firsts):.0f} ms (target < 300), "
          f"transferred median {statistics.median(sizes) / 1024:.0f} KB (target < 200)")
finally:
    server.terminate()
    server.wait(timeout=30)
