"""Browser tests of the UrgencyIQ web console (headless Chromium through selenium).

Run with `bash Tests/Browser/run.sh .build/debug/urgencyiq`, which starts a server on a fresh database and sets
UIQ_BASE_URL; or point UIQ_BASE_URL at a running server (its rules directory must be one you may deploy to).
Every wait is on a condition with a deadline; nothing sleeps a fixed time.
"""

import json
import os
import shutil
import time
import unittest
import urllib.error
import urllib.request
import uuid

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ.get("UIQ_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR") or os.path.join(os.environ.get("TMPDIR", "/tmp"), "uiq-screenshots")
WAIT = float(os.environ.get("UIQ_WAIT", "20"))  # generous deadline for things without a stated limit
LIVE_DEADLINE = 2.0  # the issue: a new ticket appears within 2 s

DESKTOP = (1280, 800)
PHONE = (390, 844)
PAGES = ["inbox", "ticket", "rules", "playground", "settings"]


# ---- The API, straight from Python -------------------------------------------------------------------------

def call(method, path, body=None, expect=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, payload, headers = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        status, payload, headers = err.code, err.read(), err.headers
    parsed = json.loads(payload) if payload else None
    if expect is not None and status != expect:
        raise AssertionError(f"{method} {path}: expected {expect}, got {status}: {payload[:300]!r}")
    return status, parsed, headers


def get(path):
    return call("GET", path, expect=200)[1]


def send(user_id, message):
    return call("POST", "/api/messages/send", {"user_id": user_id, "message": message}, expect=201)[1]


def new_customer():
    # Customer ids that the sample data does not use, one per test.
    return 900000 + uuid.uuid4().int % 99999999


def wait_until(predicate, timeout=WAIT, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
            if last:
                return last
        except AssertionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message} (last: {last!r})")
        time.sleep(interval)


def chrome():
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,800", "--disable-extensions", "--no-first-run", "--lang=en-US"):
        options.add_argument(arg)
    binary = os.environ.get("CHROME_BIN") or shutil.which("chromium") or shutil.which("chromium-browser") \
        or shutil.which("google-chrome")
    if binary:
        options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", **({"performance": "ALL"} if os.environ.get("UIQ_DEBUG") else {})})
    driver_path = os.environ.get("CHROMEDRIVER_BIN") or shutil.which("chromedriver")
    service = Service(executable_path=driver_path) if driver_path else Service()
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    return driver


class ConsoleTestCase(unittest.TestCase):
    """One browser per test class; every test starts from a fresh load of the console."""

    driver = None

    @classmethod
    def setUpClass(cls):
        cls.driver = chrome()

    @classmethod
    def tearDownClass(cls):
        if cls.driver:
            cls.driver.quit()

    def setUp(self):
        self.viewport(*DESKTOP)
        self.driver.get("about:blank")  # a real page load, not just a new hash: no state from the last test
        self.driver.get(BASE + "/#/inbox")
        self.wait_css("#view h1")
        self.driver.get_log("browser")  # drain what earlier tests left

    # ---- helpers ----

    def viewport(self, width, height):
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})

    def go(self, route):
        self.driver.get(f"{BASE}/#/{route}")
        self.wait_css("#view h1")

    def wait(self, predicate, timeout=WAIT, message="condition"):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: predicate(d))
        except TimeoutException:
            self.screenshot(f"failure-{self._testMethodName}")
            if os.environ.get("UIQ_DEBUG"):
                print("\nresources:", self.driver.execute_script(
                    "return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))"
                    ".map(e => `${e.name} ${Math.round(e.startTime)}+${Math.round(e.duration)}`)"))
                print("url:", self.driver.current_url)
                import subprocess
                port = BASE.rsplit(":", 1)[1]
                print(subprocess.run(["ss", "-tn", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True).stdout)
                t0 = time.monotonic()
                try:
                    print("direct:", call("GET", "/api/messages/318")[0], time.monotonic() - t0)
                except Exception as err:
                    print("direct failed:", err)
                pending = {}
                for entry in self.driver.get_log("performance"):
                    m = json.loads(entry["message"])["message"]
                    p = m.get("params", {})
                    if m["method"] == "Network.requestWillBeSent":
                        pending[p["requestId"]] = (p["request"]["method"], p["request"]["url"], p.get("type"))
                    elif m["method"] in ("Network.loadingFinished", "Network.loadingFailed"):
                        pending.pop(p["requestId"], None)
                print("pending:", list(pending.values()))
                print(self.driver.execute_async_script(
                    "const done = arguments[0]; const t = performance.now(); fetch('/api/health').then(r => done('page fetch ' + r.status + ' ' + (performance.now() - t))).catch(e => done(String(e)));"))
            alerts = self.driver.find_elements(By.ID, "alerts")
            shown = alerts[0].text if alerts else ""
            self.fail(f"timed out after {timeout} s waiting for {message}" + (f" (alerts: {shown!r})" if shown else ""))

    def wait_css(self, selector, timeout=WAIT, visible=True):
        def find(d):
            for el in d.find_elements(By.CSS_SELECTOR, selector):
                if not visible or el.is_displayed():
                    return el
            return None
        return self.wait(find, timeout, f"{selector}")

    def wait_text(self, selector, text, timeout=WAIT):
        def has(d):
            for el in d.find_elements(By.CSS_SELECTOR, selector):
                if text in el.text:
                    return el
            return None
        return self.wait(has, timeout, f"{selector} containing {text!r}")

    def live(self):
        """Waits until the console's event stream is connected (so no event can be missed)."""
        self.wait(lambda d: d.find_element(By.ID, "live-indicator").get_attribute("data-status") == "live",
                  message="the live connection")

    def row_ids(self):
        return [int(x) for x in self.driver.execute_script(
            "return [...document.querySelectorAll('#view .ticket-list:not(.compact) > li')].map(li => li.dataset.id)")]

    def click(self, element):
        """Clicks an element after scrolling it to the middle of the screen (clear of the sticky top bar)."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def button(self, label):
        return self.driver.find_element(By.XPATH, f"//button[normalize-space()='{label}']")

    def set_field(self, element, text):
        element.clear()
        element.send_keys(text)

    def severe_logs(self, ignore=()):
        entries = self.driver.get_log("browser")
        return [e for e in entries if e["level"] == "SEVERE" and not any(s in e["message"] for s in ignore)]

    def assert_no_alert_dialog(self):
        try:
            alert = self.driver.switch_to.alert
            text = alert.text
            alert.dismiss()
            self.fail(f"a JavaScript alert opened: {text!r}")
        except NoAlertPresentException:
            pass

    def screenshot(self, name):
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        self.driver.save_screenshot(os.path.join(SCREENSHOT_DIR, f"{name}.png"))

    def alert_text(self):
        return self.driver.find_element(By.ID, "alerts").text


# ---- Inbox --------------------------------------------------------------------------------------------------

class InboxTests(ConsoleTestCase):

    def test_new_ticket_appears_live_in_urgency_order(self):
        self.go("inbox")
        self.wait_css("#view .ticket-list > li")
        self.live()
        before = self.row_ids()
        token = uuid.uuid4().hex[:8]
        sent = send(new_customer(), f"Help {token}: my phone was stolen and someone is using my account, block it now")
        mid = sent["message_id"]
        start = time.monotonic()
        self.wait_css(f'#view .ticket-list > li[data-id="{mid}"]', timeout=LIVE_DEADLINE + 0.5)
        elapsed = time.monotonic() - start
        self.assertLessEqual(elapsed, LIVE_DEADLINE, f"the ticket took {elapsed:.2f} s to appear")
        self.assertGreaterEqual(sent["urgency"], 4.5)
        ids = self.row_ids()
        self.assertEqual(len(ids), len(before) + 1, "one row more, nothing else changed")
        api_ids = [m["id"] for m in get(f"/api/messages?status=open&sort=urgency&limit={len(ids)}")]
        self.assertEqual(ids, api_ids, "the inbox shows the API's order after the live insert")
        self.assertIn(token, self.driver.find_element(By.CSS_SELECTOR, f'li[data-id="{mid}"]').text)

    def test_live_inserts_respect_filters_and_order(self):
        customer = new_customer()
        self.go(f"inbox?user_id={customer}&status=all")
        self.wait_text("#inbox-summary", "Showing 0")
        self.live()
        low = send(customer, "hello, what are your opening hours?")
        self.wait_css(f'li[data-id="{low["message_id"]}"]', timeout=LIVE_DEADLINE + 0.5)
        high = send(customer, "my account is blocked, I cannot log in and my salary is stuck")
        other = send(new_customer(), "my account is blocked too")  # another customer: must not show
        mid = send(customer, "why was my loan rejected?")
        self.wait_css(f'li[data-id="{mid["message_id"]}"]', timeout=LIVE_DEADLINE + 0.5)
        self.wait_css(f'li[data-id="{high["message_id"]}"]', timeout=LIVE_DEADLINE + 0.5)
        expected = [m["id"] for m in get(f"/api/messages?user_id={customer}&status=all&sort=urgency")]
        self.assertEqual(len(expected), 3)
        self.assertEqual(self.row_ids(), expected)
        self.assertNotIn(other["message_id"], self.row_ids())
        self.wait_text("#inbox-summary", "of 3 tickets")
        # Newest first, by the filter control.
        Select(self.driver.find_element(By.CSS_SELECTOR, 'select[name="sort"]')).select_by_value("time")
        newest = [m["id"] for m in get(f"/api/messages?user_id={customer}&status=all&sort=time")]
        self.wait(lambda d: self.row_ids() == newest, message="rows in time order")
        # An update (resolve) through the API refreshes the row.
        call("POST", f"/api/messages/{low['message_id']}/resolve", expect=200)
        self.wait_text(f'li[data-id="{low["message_id"]}"] .status', "resolved", timeout=LIVE_DEADLINE + 0.5)

    def test_filters_and_paging(self):
        self.go("inbox?status=all&search=loan")
        self.wait_css("#view .ticket-list > li")
        total = int(call("GET", "/api/messages?status=all&search=loan&limit=1", expect=200)[2]["X-Total-Count"])
        self.wait_text("#inbox-summary", f"of {total} tickets")
        for text in self.driver.execute_script(
                "return [...document.querySelectorAll('.ticket-link')].map(a => a.textContent.toLowerCase())"):
            self.assertIn("loan", text)
        # Load more through the Link header's cursor until everything is shown.
        self.go("inbox?status=all")
        self.wait_css("#view .ticket-list > li")
        first = len(self.row_ids())
        button = self.wait_css(".more button")
        self.click(button)
        self.wait(lambda d: len(self.row_ids()) > first, message="a second page")
        ids = self.row_ids()
        self.assertEqual(len(ids), len(set(ids)), "no ticket twice")
        api_ids = [m["id"] for m in get(f"/api/messages?status=all&sort=urgency&limit={len(ids)}")]
        self.assertEqual(ids, api_ids)
        # Each row links to its ticket.
        link = self.driver.find_element(By.CSS_SELECTOR, ".ticket-link")
        self.assertEqual(link.get_attribute("href"), f"{BASE}/#/ticket/{ids[0]}")

    def test_due_order_and_overdue_badges(self):
        # The sample tickets are months old and unanswered: past the rules' first-response targets.
        self.go("inbox?sort=due")
        self.wait_css("#view .ticket-list > li")
        select = self.driver.find_element(By.CSS_SELECTOR, 'select[name="sort"]')
        self.assertEqual(select.get_attribute("value"), "due")
        ids = self.row_ids()
        self.assertEqual(ids, [m["id"] for m in get(f"/api/messages?sort=due&limit={len(ids)}")], "the API's due order")
        first = get(f"/api/messages/{ids[0]}")
        self.assertTrue(first["overdue"])
        badge = self.driver.find_element(By.CSS_SELECTOR, "#view .ticket-list > li .overdue")
        self.assertEqual(badge.text, "overdue")
        # The ticket says when the first reply was due.
        self.go(f"ticket/{ids[0]}")
        self.wait_text("#view", "overdue:")

    def test_bad_customer_filter_is_explained(self):
        self.go("inbox")
        self.wait_css("#view .ticket-list > li")
        field = self.driver.find_element(By.CSS_SELECTOR, 'input[name="user_id"]')
        self.set_field(field, "abc")
        self.wait_css("#customer-error")
        self.assertEqual(field.get_attribute("aria-invalid"), "true")


# ---- Ticket -------------------------------------------------------------------------------------------------

class TicketTests(ConsoleTestCase):

    def test_reply_assign_resolve_through_the_ui(self):
        customer = new_customer()
        first = send(customer, "I paid yesterday but my balance still shows the old amount")["message_id"]
        mid = send(customer, "Why was my loan rejected? I need it today")["message_id"]
        self.go(f"ticket/{mid}")
        self.wait_text(".message-text", "Why was my loan rejected?")
        self.wait_text(".breakdown", "loan rejected")  # the intent in words
        self.wait_text("#view", f"Customer {customer}")
        self.wait_css(f'.ticket-list.compact li[data-id="{first}"]')  # their other ticket
        d = self.driver
        # Reply.
        self.set_field(d.find_element(By.CSS_SELECTOR, 'input[name="agent_name"]'), "Ana Agent")
        self.set_field(d.find_element(By.CSS_SELECTOR, 'textarea[name="reply"]'), "We are looking into it.")
        self.click(d.find_element(By.CSS_SELECTOR, ".reply-form button[type=submit]"))
        wait_until(lambda: get(f"/api/messages/{mid}")["replies"], message="the reply in the API")
        reply = get(f"/api/messages/{mid}")["replies"][0]
        self.assertEqual((reply["agent_name"], reply["reply"]), ("Ana Agent", "We are looking into it."))
        self.wait_text(".replies", "We are looking into it.")
        # Assign.
        self.set_field(d.find_element(By.CSS_SELECTOR, 'input[name="assign_to"]'), "bob")
        self.click(d.find_element(By.CSS_SELECTOR, ".inline-form button[type=submit]"))
        wait_until(lambda: get(f"/api/messages/{mid}")["assigned_to"] == "bob", message="the assignment")
        self.wait_text(".assign-state", "bob")
        # Unassign, then resolve.
        self.wait(lambda d: d.find_element(By.XPATH, "//button[normalize-space()='Unassign']").is_enabled(),
                  message="Unassign enabled")
        self.click(self.button("Unassign"))
        wait_until(lambda: get(f"/api/messages/{mid}")["assigned_to"] is None, message="the unassignment")
        self.wait_text(".assign-state", "Not assigned")
        self.click(self.button("Resolve"))
        wait_until(lambda: get(f"/api/messages/{mid}")["status"] == "resolved", message="the resolution")
        self.wait_text(".message-head .status", "resolved")
        self.assertEqual(self.severe_logs(), [])

    def test_event_for_the_message_refreshes_it(self):
        mid = send(new_customer(), "my card was charged twice")["message_id"]
        self.go(f"ticket/{mid}")
        self.wait_text(".message-text", "charged twice")
        self.live()
        call("POST", f"/api/messages/{mid}/reply", {"agent_name": "carol", "reply": "refund on its way"}, expect=201)
        self.wait_text(".replies", "refund on its way", timeout=LIVE_DEADLINE + 1)

    def test_unknown_ticket_shows_an_alert(self):
        self.go("ticket/987654321")
        alert = self.wait_css("#alerts .alert")
        self.assertEqual(self.driver.find_element(By.ID, "alerts").get_attribute("role"), "alert")
        self.assertIn("987654321", alert.text)
        self.severe_logs()  # the 404 is logged by the browser; expected here


# ---- Hostile text -------------------------------------------------------------------------------------------

class HostileTextTests(ConsoleTestCase):

    def test_markup_in_messages_and_names_is_text(self):
        customer = new_customer()
        hostile = "<img src=x onerror=alert(1)>"
        mid = send(customer, hostile)["message_id"]
        call("POST", f"/api/messages/{mid}/reply",
             {"agent_name": "<b onmouseover=alert(2)>eve</b>", "reply": "<script>alert(3)</script>"}, expect=201)
        call("POST", f"/api/messages/{mid}/assign", {"agent_name": "<svg onload=alert(4)>"}, expect=200)
        d = self.driver
        self.go(f"inbox?user_id={customer}")
        link = self.wait_css(f'li[data-id="{mid}"] .ticket-link')
        self.assertEqual(link.text, hostile)
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "#view img, #view svg, #view script, #view b"), [])
        self.go(f"ticket/{mid}")
        self.wait_text(".message-text", hostile)
        self.wait_text(".replies", "<script>alert(3)</script>")
        self.wait_text(".replies", "<b onmouseover=alert(2)>eve</b>")
        self.wait_text(".assign-state", "<svg onload=alert(4)>")
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "#view img, #view svg, #view script, #view b"), [])
        self.assertFalse(d.execute_script("return window.__xss === true"))
        self.assert_no_alert_dialog()
        # The playground shows it as text too.
        self.go("playground")
        box = self.wait_css('textarea[name="message"]')
        box.send_keys(hostile)
        self.wait_css("#score-value")
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "#score-result img"), [])
        self.assert_no_alert_dialog()
        self.assertEqual(self.severe_logs(), [])


# ---- Playground and rules -----------------------------------------------------------------------------------

def active_version():
    return get("/api/rules")["active"]["version"]


class PlaygroundTests(ConsoleTestCase):

    def test_scores_as_you_type(self):
        self.go("playground")
        box = self.wait_css('textarea[name="message"]')
        box.send_keys("hello there")
        first = self.wait_css("#score-value")
        expected = call("POST", "/api/score", {"message": "hello there"}, expect=200)[1]["urgency"]
        self.wait(lambda d: float(d.find_element(By.ID, "score-value").text) == expected, message="the first score")
        self.assertTrue(first.is_displayed())
        box.send_keys(", my account is blocked and I cannot log in")
        text = "hello there, my account is blocked and I cannot log in"
        expected = call("POST", "/api/score", {"message": text}, expect=200)[1]["urgency"]
        self.assertGreaterEqual(expected, 4.5)
        self.wait(lambda d: float(d.find_element(By.ID, "score-value").text) == expected, timeout=WAIT,
                  message="the score to follow the typing")
        self.wait_text("#score-result .breakdown", "cannot access the account")
        self.assertEqual(self.severe_logs(), [])

    def _load_editor(self):
        self.go("playground")
        return self.wait_css('textarea.code-editor[data-path="urgency.lua"]')

    def _edit(self, editor, old, new):
        source = editor.get_attribute("value")
        self.assertIn(old, source)
        edited = source.replace(old, new, 1)
        # Typing 16 KB key by key is slow: set the text, then type one real key at its end so that the
        # console sees ordinary input events.
        self.driver.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            editor, edited.rstrip("\n"))
        editor.send_keys(Keys.CONTROL, Keys.END)
        editor.send_keys("\n")
        self.wait(lambda d: editor.get_attribute("value").rstrip("\n") == edited.rstrip("\n"), message="the edit")
        return edited

    def test_check_and_deploy_a_candidate_that_raises_a_tier(self):
        before = active_version()
        original = get("/api/rules/files")["files"]
        try:
            editor = self._load_editor()
            self._edit(editor, 'intent { name = "salary delayed", level = 3',
                       'intent { name = "salary delayed", level = 4')
            self.wait_text("#editor-info", "Changed: urgency.lua")
            self.click(self.button("Check"))
            counts = self.wait_css("#check-counts", timeout=60)
            self.assertRegex(counts.text, r"\d+ passed, \d+ failed")
            summary = self.wait_css("#diff-summary").text
            self.assertIn(before, summary)
            self.assertRegex(summary, r"[1-9]\d* of \d+ messages change")
            self.wait_text("#candidate-result .changes", "3 → 4")
            self.driver.execute_script("document.getElementById('candidate-result').scrollIntoView()")
            self.screenshot("playground-check-desktop")
            self.assertEqual(active_version(), before, "a check deploys nothing")
            self.click(self.button("Deploy…"))
            self.click(self.wait_css("#confirm-deploy"))
            version = self.wait_css("#deployed-version", timeout=60).text
            self.assertNotEqual(version, before)
            self.assertEqual(active_version(), version)
            score = call("POST", "/api/score", {"message": "my salary is delayed this month"}, expect=200)[1]
            self.assertEqual(round(score["urgency"]), 4)
            # The rules page shows the new version and the deploy in its history.
            self.go("rules")
            self.wait_text("#active-version", version)
            self.wait_text(".attempts", version)
            self.assertEqual(self.severe_logs(), [])
        finally:
            call("PUT", "/api/rules", original)
            wait_until(lambda: active_version() == before, message="the original rules back")

    def test_candidate_with_a_syntax_error_deploys_nothing(self):
        before = active_version()
        editor = self._load_editor()
        source = editor.get_attribute("value")
        line = source[:source.index("default_level = 2,")].count("\n") + 1
        self._edit(editor, "default_level = 2,", "default_level = 2,,")
        self.click(self.button("Check"))
        self.wait_text("#candidate-result", f"urgency.lua:{line}", timeout=60)
        self.click(self.button("Deploy…"))
        self.click(self.wait_css("#confirm-deploy"))
        result = self.wait_text("#candidate-result", "Not deployed", timeout=60)
        self.assertIn(f"urgency.lua:{line}", result.text)
        self.wait_text("#alerts", f"urgency.lua:{line}")
        self.assertEqual(active_version(), before)
        # "Show urgency.lua:N in the editor" selects that line.
        self.click(self.driver.find_element(By.XPATH, f"//button[contains(., 'Show urgency.lua:{line}')]"))
        selected = self.driver.execute_script(
            "const t = arguments[0]; return t.value.slice(0, t.selectionStart).split('\\n').length;", editor)
        self.assertEqual(selected, line)
        self.assertEqual(self.driver.switch_to.active_element, editor)
        self.severe_logs()  # the 422 answers are logged by the browser; expected here

    def test_busy_check_shows_retry_after(self):
        import threading
        files = get("/api/rules/files")["files"]
        candidate = dict(files, **{"urgency.lua": files["urgency.lua"] + "\n-- a candidate\n"})
        stop = threading.Event()

        def hammer():  # keep the server's one check slot busy
            while not stop.is_set():
                call("POST", "/api/rules/check", candidate)

        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(2)]
        self._load_editor()
        for t in threads:
            t.start()
        try:
            seen = None
            for _ in range(20):
                self.click(self.button("Check"))
                result = self.wait(lambda d: d.find_element(By.ID, "check-counts") if d.find_elements(By.ID, "check-counts")
                                   else (d.find_element(By.ID, "candidate-result") if "Another check is running"
                                         in d.find_element(By.ID, "candidate-result").text else None),
                                   timeout=60, message="a check result or the busy notice")
                if "Another check is running" in result.text:
                    seen = result.text
                    break
            self.assertIsNotNone(seen, "the server never said it was busy")
            self.assertRegex(seen, r"Try again in \d+ seconds?")
            self.wait_text("#alerts", "Another check is running")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.severe_logs()  # the 503 answers are logged by the browser; expected here

    def test_rules_page_reload(self):
        self.go("rules")
        version = active_version()
        self.wait_text("#active-version", version)
        self.wait_css(".code-view")  # the files, read-only with line numbers
        gutter = self.driver.find_element(By.CSS_SELECTOR, ".code-view .gutter").get_attribute("textContent")
        self.assertTrue(gutter.startswith("1\n2\n3\n"))
        self.click(self.button("Reload rules"))
        self.wait_text(".reload-result", "unchanged")
        self.wait_text("#view", "Fleet (1)")
        self.assertEqual(self.severe_logs(), [])


# ---- Settings -----------------------------------------------------------------------------------------------

class SettingsTests(ConsoleTestCase):

    def test_token_llm_toggle_health(self):
        d = self.driver
        self.go("settings")
        self.wait_text("#health-status", "ok")
        self.wait_text("#live-status", "Live")
        self.wait_text(".llm-status", "Circuit")
        self.wait_text(".llm-status", "background: tickets are answered at once")
        self.wait_text(".llm-status", "waiting")
        self.wait_text(".llm-status", "Tokens today")
        toggle = self.wait_css("#llm-toggle")
        self.wait(lambda d: toggle.is_enabled(), message="the LLM toggle")
        was = get("/api/get/llm")["use_llm"]
        self.click(toggle)
        wait_until(lambda: get("/api/get/llm")["use_llm"] is (not was), message="the LLM toggle in the API")
        self.wait(lambda d: toggle.is_enabled(), message="the LLM toggle again")
        self.click(toggle)
        wait_until(lambda: get("/api/get/llm")["use_llm"] is was, message="the LLM toggle back")
        # The token goes to sessionStorage only, and is sent as a bearer token.
        self.set_field(d.find_element(By.CSS_SELECTOR, 'input[name="admin_token"]'), "s3cret-token")
        self.click(self.button("Save"))
        self.wait_text("#token-state", "A token is stored")
        self.assertEqual(d.execute_script("return sessionStorage.getItem('urgencyiq.adminToken')"), "s3cret-token")
        self.assertIsNone(d.execute_script(
            "return Object.keys(localStorage).find(k => localStorage.getItem(k).includes('s3cret')) || null"))
        self.click(self.button("Forget the token"))
        self.wait_text("#token-state", "No token stored")
        self.assertIsNone(d.execute_script("return sessionStorage.getItem('urgencyiq.adminToken')"))
        self.assertEqual(self.severe_logs(), [])


# ---- A server that wants an admin token ---------------------------------------------------------------------

ADMIN_BASE = os.environ.get("UIQ_ADMIN_BASE_URL", "").rstrip("/")
ADMIN_TOKEN = os.environ.get("UIQ_ADMIN_TOKEN", "")


@unittest.skipUnless(ADMIN_BASE and ADMIN_TOKEN, "set UIQ_ADMIN_BASE_URL and UIQ_ADMIN_TOKEN (run.sh does)")
class AdminTokenTests(ConsoleTestCase):

    def setUp(self):
        self.viewport(*DESKTOP)
        self.driver.get("about:blank")
        self.driver.get(ADMIN_BASE + "/#/inbox")
        self.wait_css("#view h1")
        self.driver.execute_script("sessionStorage.clear()")

    def admin_go(self, route):
        self.driver.get(f"{ADMIN_BASE}/#/{route}")
        self.wait_css("#view h1")

    def test_admin_pages_ask_for_the_token_and_use_it(self):
        d = self.driver
        # Without a token: the editor says why it is off, and the alert points to Settings.
        self.admin_go("playground")
        self.wait_text(".editors", "needs the admin token")
        self.wait_text("#alerts", "admin token")
        self.click(d.find_element(By.CSS_SELECTOR, '#alerts a[href="#/settings"]'))
        self.wait_text("#view h1", "Settings")
        # A wrong token: 403, said as text.
        self.set_field(d.find_element(By.CSS_SELECTOR, 'input[name="admin_token"]'), "wrong-token")
        self.click(self.button("Save"))
        self.admin_go("rules")
        self.wait_text("#view", "needs the admin token")
        self.wait_text("#alerts", "admin token")
        # The right one: the files load and a reload works; the token went only to sessionStorage.
        self.admin_go("settings")
        self.set_field(d.find_element(By.CSS_SELECTOR, 'input[name="admin_token"]'), ADMIN_TOKEN)
        self.click(self.button("Save"))
        self.wait_text("#token-state", "A token is stored")
        self.admin_go("playground")
        self.wait_css('textarea.code-editor[data-path="urgency.lua"]')
        self.admin_go("rules")
        self.wait_css(".code-view")
        self.click(self.button("Reload rules"))
        self.wait_text(".reload-result", "unchanged")
        self.assertEqual(self.alert_text(), "")
        self.assertEqual(d.execute_script("return localStorage.length"), 0)
        self.severe_logs()  # the 401 and 403 answers above are logged by the browser; expected here


# ---- Every page: console errors, keyboard, phone layout, screenshots ----------------------------------------

class PageTests(ConsoleTestCase):

    def page_route(self, page):
        if page == "ticket":
            # The most urgent open ticket of the sample data (the tests' own customers are 900000 and up).
            rows = get("/api/messages?status=open&sort=urgency&limit=100")
            sample = [m for m in rows if m["customer_id"] < 900000] or rows
            return f"ticket/{sample[0]['id']}"
        return page

    def wait_loaded(self, page):
        ready = {
            "inbox": "#view .ticket-list > li",
            "ticket": "#view .breakdown",
            "rules": "#view .code-view",
            "playground": "#view textarea.code-editor",
            "settings": "#health-status",
        }[page]
        self.wait_css(ready)
        if page == "ticket":
            self.wait_text("#view", "Average urgency")
        if page == "rules":
            self.wait_text("#view", "Fleet (")
        if page == "settings":
            self.wait_text(".llm-status", "Circuit")

    def test_no_console_errors_on_any_page(self):
        for page in PAGES:
            with self.subTest(page=page):
                self.go(self.page_route(page))
                self.wait_loaded(page)
                self.live()
                self.assertEqual(self.severe_logs(), [], f"console errors on {page}")
                self.assertEqual(self.alert_text(), "", f"an error shown on {page}")

    def test_first_load_is_under_200_kb(self):
        d = self.driver
        d.execute_cdp_cmd("Network.enable", {})
        d.execute_cdp_cmd("Network.clearBrowserCache", {})
        d.get("about:blank")
        d.get(BASE + "/#/inbox")
        self.wait_css("#view .ticket-list > li")
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete", message="the load")
        sizes = d.execute_script("""
            const nav = performance.getEntriesByType('navigation')[0];
            const res = performance.getEntriesByType('resource');
            return {
              transferred: nav.transferSize + res.reduce((s, e) => s + (e.transferSize || 0), 0),
              files: res.filter(e => e.name.includes('/console/')).length,
              external: res.filter(e => !e.name.startsWith(location.origin)).map(e => e.name),
            };""")
        self.assertEqual(sizes["external"], [], "everything comes from the server")
        self.assertGreater(sizes["files"], 5)
        self.assertLess(sizes["transferred"], 200 * 1024, f"first load transferred {sizes['transferred']} bytes")

    def test_pages_left_behind_do_not_hold_connections(self):
        # A browser opens at most six connections to one server over HTTP/1.1 and each live stream holds one:
        # pages navigated away from (kept in the back/forward cache) must close theirs.
        d = self.driver
        probe = ("const done = arguments[0]; const t = setTimeout(() => done('stuck'), 5000);"
                 "fetch('/api/health').then(r => { clearTimeout(t); done(r.status); }, e => done(String(e)));")
        for _ in range(8):
            d.get("about:blank")
            d.get(BASE + "/#/inbox")
            self.wait_css("#view .ticket-list > li")
            self.live()
            self.assertEqual(d.execute_async_script(probe), 200)

    def test_keyboard_reaches_the_nav_with_a_visible_focus(self):
        d = self.driver
        self.go("inbox")
        self.wait_css("#view .ticket-list > li")
        d.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
        body = d.find_element(By.TAG_NAME, "body")
        reached = {}
        for _ in range(12):
            (d.switch_to.active_element if reached else body).send_keys(Keys.TAB)
            el = d.switch_to.active_element
            route = el.get_attribute("data-route")
            if route and route not in reached:
                style = d.execute_script(
                    "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth];", el)
                reached[route] = style
            if len(reached) == 4:
                break
        self.assertEqual(sorted(reached), ["inbox", "playground", "rules", "settings"])
        for route, (style, width) in reached.items():
            self.assertNotEqual(style, "none", f"{route} link has no focus outline")
            self.assertGreaterEqual(float(width.rstrip("px")), 2, f"{route} link's outline is too thin")
        # Enter follows the focused link.
        d.switch_to.active_element.send_keys(Keys.ENTER)
        self.wait(lambda d: d.current_url.endswith("#/settings"), message="the settings route")
        self.wait_text("#view h1", "Settings")
        # Every control on the pages is labelled.
        for page in PAGES:
            self.go(self.page_route(page))
            self.wait_loaded(page)
            unlabelled = d.execute_script("""
                return [...document.querySelectorAll('input, select, textarea, button')].filter(el => {
                  if (el.type === 'hidden' || el.closest('[hidden]')) return false;
                  if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return false;
                  if (el.labels && el.labels.length) return false;
                  if (el.tagName === 'BUTTON' && el.textContent.trim()) return false;
                  return true;
                }).map(el => el.outerHTML.slice(0, 120));""")
            self.assertEqual(unlabelled, [], f"unlabelled controls on {page}")

    def test_phone_layout_has_no_horizontal_scroll(self):
        self.viewport(*PHONE)
        try:
            for page in PAGES:
                with self.subTest(page=page):
                    self.go(self.page_route(page))
                    self.wait_loaded(page)
                    overflow = self.driver.execute_script(
                        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                    self.assertLessEqual(overflow, 0, f"{page} scrolls sideways by {overflow}px at 390×844")
        finally:
            self.viewport(*DESKTOP)

    def test_screenshots(self):
        # Something in the reload history: a reload, and a deploy rejected at its line (nothing changes).
        call("POST", "/api/rules/reload", expect=200)
        files = get("/api/rules/files")["files"]
        broken = dict(files, **{"urgency.lua": files["urgency.lua"].replace("default_level = 2,", "default_level = 2,,", 1)})
        self.assertEqual(call("PUT", "/api/rules", broken)[0], 422)
        for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.viewport(*size)
            for page in PAGES:
                self.go(self.page_route(page))
                self.wait_loaded(page)
                if page == "playground":
                    box = self.driver.find_element(By.CSS_SELECTOR, 'textarea[name="message"]')
                    box.send_keys("Nimeibiwa simu, my account is blocked and I need my salary today!")
                    self.wait_css("#score-value")
                self.driver.execute_script("document.activeElement && document.activeElement.blur()")
                self.screenshot(f"{page}-{size_name}")
        self.viewport(*DESKTOP)
        for size_name in ("desktop", "phone"):
            for page in PAGES:
                self.assertTrue(os.path.getsize(os.path.join(SCREENSHOT_DIR, f"{page}-{size_name}.png")) > 1000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
