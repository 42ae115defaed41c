#!/usr/bin/env python3
"""Drives the operator console in headless Chromium against a running `lpa-sim demo --keep`.

Run by ConsoleBrowserTests (Tests/LPAAdminTests) with the demo's console URL, tokens and SM-DP+
address; writes a screenshot of each page into --screenshots. Exits non-zero, printing what went
wrong, when any step fails.
"""
import argparse
import base64
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="console URL, e.g. http://127.0.0.1:8080/console/")
    p.add_argument("--admin-token", required=True)
    p.add_argument("--read-token", required=True)
    p.add_argument("--smdp", required=True, help="SM-DP+ address of the demo (host:port)")
    p.add_argument("--terminals", type=int, required=True)
    p.add_argument("--screenshots", required=True)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = p.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)

    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1360,1100",
                 "--no-first-run", "--disable-extensions"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(args.chromedriver), options=options)
    try:
        ConsoleTest(driver, args).run()
    finally:
        driver.quit()


class ConsoleTest:
    def __init__(self, driver, args):
        self.d = driver
        self.a = args
        self.step = "start"

    def log(self, text):
        print(f"[console-test] {text}", flush=True)

    def wait(self, condition, timeout=30, what=""):
        try:
            # Pages re-render on polling: an element found may be replaced before it is read.
            return WebDriverWait(self.d, timeout, poll_frequency=0.2,
                                 ignored_exceptions=[NoSuchElementException, StaleElementReferenceException]).until(condition)
        except TimeoutException:
            self.shot("failure-" + self.step.replace(" ", "-"))
            raise AssertionError(f"{self.step}: timed out waiting for {what or condition}")

    def el(self, css, timeout=30):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, css)

    def text(self, css, timeout=30):
        return self.el(css, timeout).text

    def shot(self, name):
        # The whole page, also below the window's height (Chromium's DevTools capture).
        size = self.d.execute_script("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        image = self.d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 6000), "scale": 1}})
        path = os.path.join(self.a.screenshots, name + ".png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(image["data"]))
        self.log(f"screenshot {path}")

    def campaign_state(self):
        return self.d.execute_script("const e = document.getElementById('campaign-state'); return e ? e.dataset.state : null")

    def click_control(self, element_id):
        """Clicks a button of a page that re-renders while polling, in one script (no stale element); the click
        runs after the script returns, so a confirmation dialog it opens does not interrupt the script."""
        self.wait(lambda _: self.d.execute_script(
            "const b = document.getElementById(arguments[0]); if (!b || b.disabled) return false; setTimeout(() => b.click(), 0); return true", element_id),
            what=f"#{element_id} to click")

    def go(self, hash_):
        self.d.execute_script("location.hash = arguments[0]", hash_)

    def check(self, condition, message):
        if not condition:
            self.shot("failure-" + self.step.replace(" ", "-"))
            raise AssertionError(f"{self.step}: {message}")

    def sign_in(self, token, role):
        self.d.get(self.a.url)
        self.el("#token").send_keys(token)
        self.d.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
        self.wait(lambda d: d.find_element(By.ID, "role").text == role, what=f"role {role} shown")

    def sign_out(self):
        self.d.find_element(By.ID, "signout").click()
        self.el("#signin")
        self.check(self.d.execute_script("return sessionStorage.length") == 0, "sign-out leaves the token in sessionStorage")

    def csp_violations(self):
        entries = self.d.get_log("browser")
        return [e["message"] for e in entries if "Content Security Policy" in e.get("message", "")]

    def run(self):
        d, a = self.d, self.a

        self.step = "unknown token"
        d.get(a.url)
        self.el("#token").send_keys("not-a-token-of-this-core")
        d.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
        self.wait(lambda d: d.find_element(By.ID, "signin-error").is_displayed(), what="sign-in error")
        self.check("Unknown token" in d.find_element(By.ID, "signin-error").text, "an unknown token is refused with a message")
        self.shot("signin-refused")

        self.step = "sign in (admin)"
        self.sign_in(a.admin_token, "admin")
        cookies = d.get_cookies()
        self.check(cookies == [], f"the console sets no cookie, found {cookies}")

        self.step = "fleet"
        self.go("#/fleet")
        self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#fleet-stats .stat .n").text == str(a.terminals),
                  what=f"{a.terminals} devices on the Fleet page")
        self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#stat-online .n").text == str(a.terminals), 60,
                  f"{a.terminals} devices online")
        self.el("#presence-chart polyline.online")
        rows = self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#device-table tbody tr"), what="device rows")
        self.check(len(rows) == min(a.terminals, 25), f"device list shows {len(rows)} rows")
        self.check("SIM-METER-1" in self.text("#by-model"), "counts by model")
        self.check("simulated-meters" in self.text("#by-rule"), "counts by rule")
        terminals = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#device-table a.device-link")]
        # Filter: offline devices only → none.
        d.find_element(By.CSS_SELECTOR, "#filter-presence option[value=offline]").click()
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#device-table tbody tr")) == 0, what="offline filter empties the list")
        d.find_element(By.CSS_SELECTOR, "#filter-presence option[value='']").click()
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#device-table tbody tr")) == len(rows), what="list back")
        self.shot("fleet")

        self.step = "device"
        d.find_element(By.CSS_SELECTOR, "#device-table a.device-link").click()
        identity = self.text("#device-identity")
        self.check(terminals[0] in identity and "eid" in identity, "device identity shows terminal ID and EID")
        self.el("#heartbeat-chart")
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#heartbeat-chart rect.hb"), 60, "heartbeat bars")
        self.check(d.find_elements(By.CSS_SELECTOR, "#heartbeat-chart rect[class^=band]"), "count-setting bands drawn")
        self.check("confirmed" in self.text("#jobs-table"), "the device's job is confirmed")
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#profiles-table tbody tr"), 30, "profiles listed from the eUICC")
        self.check("enabled" in self.text("#profiles-table"), "an enabled profile on the eUICC")
        self.check(d.find_elements(By.CSS_SELECTOR, "#profiles-table button[data-action=disable]"), "admin sees profile actions")
        self.shot("device")

        self.step = "campaign preview and run"
        self.go("#/campaigns")
        chosen = terminals[:3]
        self.el("#c-name").send_keys("Console wave")
        self.el("#c-terminals").send_keys(" ".join(chosen))
        self.el("#c-smdp").send_keys(a.smdp)
        # A profile type the devices do not run yet, so each downloads a new profile (the simulator
        # orders one per EID when no matching ID is given).
        self.el("#c-profile-type").send_keys("demo-iot-data-wave-2")
        d.find_element(By.ID, "c-preview").click()
        self.wait(lambda d: d.find_element(By.ID, "c-preview-result").get_attribute("data-selected") == "3", what="preview of 3 devices")
        self.shot("campaign-form")
        d.find_element(By.ID, "c-create").click()
        self.wait(lambda d: "#/campaign/" in d.current_url, what="campaign page")
        self.wait(lambda _: self.campaign_state() == "completed", 180, "campaign completed")
        succeeded = d.execute_script("return document.getElementById('campaign-progress').dataset.succeeded")
        self.check(succeeded == "3", f"3 devices succeeded, got {succeeded}")
        # Each device downloaded a second profile: the outcome table names its job.
        jobs = d.execute_script("return [...document.querySelectorAll('#outcome-table tbody tr td:nth-child(5)')].map(e => e.textContent)")
        self.check(len(jobs) == 3 and all(j not in ("", "–") for j in jobs), f"a download job per device, got {jobs}")
        self.shot("campaign-completed")

        self.step = "campaign pause and resume"
        self.go("#/campaigns")
        self.el("#c-name").send_keys("Slow wave")
        self.el("#c-terminals").send_keys(" ".join(terminals[3:]))
        self.el("#c-smdp").send_keys(a.smdp)
        self.el("#c-profile-type").send_keys("demo-iot-data-wave-3")
        self.el("#c-rate").send_keys("1")
        d.find_element(By.ID, "c-create").click()
        self.wait(lambda d: "#/campaign/" in d.current_url, what="campaign page")
        slow_url = d.current_url
        self.click_control("c-pause")
        self.wait(lambda _: self.campaign_state() == "paused", what="paused")
        self.check(not d.find_elements(By.ID, "c-pause") and d.find_elements(By.ID, "c-resume"), "paused: Resume offered, Pause not")
        self.shot("campaign-paused")
        self.click_control("c-resume")
        self.wait(lambda _: self.campaign_state() in ("running", "completed"), what="resumed")
        self.shot("campaign-resumed")

        self.step = "jobs"
        self.go("#/jobs")
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#jobs-confirmed"), what="job counts")
        self.el("#failures")
        self.shot("jobs")

        self.step = "library edit with a field error"
        self.go("#/libraries")
        self.el("#lib-models .entry[data-key='SIM-METER-1'] button.edit").click()
        field = self.el("form.library-form[data-key='SIM-METER-1'] input[data-field=heartbeatIntervalSeconds]")
        field.clear()
        field.send_keys("0")
        d.find_element(By.CSS_SELECTOR, "form.library-form[data-key='SIM-METER-1'] button[type=submit]").click()
        error = self.el("form.library-form[data-key='SIM-METER-1'] .field-error[data-for=heartbeatIntervalSeconds]")
        self.check("must be positive" in error.text, f"the API's message at the field, got '{error.text}'")
        self.check("invalid" in field.get_attribute("class"), "the field is marked invalid")
        self.shot("libraries-field-error")

        self.step = "no CSP violations"
        violations = self.csp_violations()
        self.check(not violations, f"Content-Security-Policy violations: {violations}")

        self.step = "read token"
        self.sign_out()
        self.sign_in(a.read_token, "read")
        self.go("#/campaigns")
        self.el("#no-create")
        self.check(not d.find_elements(By.ID, "campaign-form"), "read: no campaign form")
        d.get(slow_url)
        self.el("#campaign-state")
        self.check(not d.find_elements(By.CSS_SELECTOR, "#c-pause, #c-resume, #c-cancel"), "read: no campaign controls")
        campaign_id = slow_url.rsplit("/", 1)[-1]
        # The hidden action, attempted anyway with the signed-in read token: the server refuses it.
        refused = d.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch('/v1/campaigns/' + arguments[0] + '/pause', {method: 'POST',
                  headers: {Authorization: 'Bearer ' + sessionStorage.getItem('serverlpa.console.token')}})
              .then(async r => done({status: r.status, body: await r.json()}))
              .catch(e => done({status: 0, body: String(e)}));
        """, campaign_id)
        self.check(refused["status"] == 403 and refused["body"]["error"]["code"] == "FORBIDDEN", f"read token refused: {refused}")
        self.shot("campaign-read-only")
        self.go("#/libraries")
        self.el("#library-mode")
        self.check(not d.find_elements(By.CSS_SELECTOR, "button.edit"), "read: no library edit buttons")
        self.shot("libraries-read-only")
        # The device page hides the profile actions too.
        self.go("#/device/" + terminals[0])
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#profiles-table tbody tr"), 30, "profiles")
        self.check(not d.find_elements(By.CSS_SELECTOR, "#profiles-table button"), "read: no profile actions")

        self.step = "cancel as admin"
        self.sign_out()
        self.sign_in(a.admin_token, "admin")
        d.get(slow_url)
        self.click_control("c-cancel")
        self.wait(EC.alert_is_present(), what="confirmation")
        d.switch_to.alert.accept()
        self.wait(lambda _: self.campaign_state() in ("canceled", "completed"), what="canceled")
        self.log("all console steps passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"[console-test] FAILED: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
