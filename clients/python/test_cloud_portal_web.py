"""cloud-portal's web page, end to end: the real service, driven in headless Chromium.

Run from the repository root (after `cargo build -p cloud-portal`):

    CARGO_TARGET_DIR=/path/to/target python3 -m unittest clients/python/test_cloud_portal_web.py -v

Needs Debian's `chromium` and `chromium-driver` (deploy/install-deps.sh --ci installs them) and
Selenium from PyPI (clients/python/requirements-test.txt, which `make test` installs). Without
them the suite FAILS, naming what is missing: a skipped browser test would hide a broken page.

The service is started as in test_cloud_portal_examples.py (port 0, a fresh SQLite database,
the embedded default configuration with its demo data: user luoyun/luoyun, instance 1 stopped
on 127.0.0.2, instance 2 new). A screenshot of the page after the status changes is kept as a
test artefact: var/test-artifacts/cloud-portal-web.png.
"""

import os
import shutil
import tempfile
import unittest

from dcp_testing import http_request
from test_cloud_portal_examples import REPO, Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = os.path.join(REPO, "var", "test-artifacts")
SCREENSHOT = os.path.join(ARTIFACTS, "cloud-portal-web.png")
WAIT_SECONDS = 15
STOPPED = "instance is stopped"
RUNNING = "instance is started by hypervisor"
NEW = "new instance that hasn't run once"


def missing_browser():
    """What the browser test lacks, in words; empty when everything is there."""
    missing = []
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            missing.append("%s (Debian package `%s`: apt-get install -y %s)" % (path, package, package))
    try:
        import selenium  # noqa: F401  (only checking that it is installed)
    except ImportError:
        missing.append("the Python package selenium (pip install -r clients/python/requirements-test.txt)")
    return missing


class CloudPortalWebPage(unittest.TestCase):
    """Log in, see my instances, start and stop one, in headless Chromium."""

    @classmethod
    def setUpClass(cls):
        missing = missing_browser()
        if missing:
            raise RuntimeError("the browser test cannot run; missing: " + "; ".join(missing))
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service as ChromeDriverService

        cls.service = Service()
        try:
            cls.address = cls.service.start()
        except Exception:
            cls.service.stop()
            raise
        cls.profile = tempfile.mkdtemp(prefix="cp-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--user-data-dir=" + cls.profile, "--window-size=1200,800"):
            options.add_argument(argument)
        try:
            cls.browser = webdriver.Chrome(options=options,
                                           service=ChromeDriverService(executable_path=CHROMEDRIVER))
        except Exception:
            cls.service.stop()
            shutil.rmtree(cls.profile, ignore_errors=True)
            raise
        cls.browser.set_page_load_timeout(WAIT_SECONDS)

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.service.stop()
        shutil.rmtree(cls.profile, ignore_errors=True)

    def setUp(self):
        # Every test starts logged out, on a freshly loaded page.
        self.browser.get(self.url("/"))
        self.browser.execute_script("window.sessionStorage.clear();")
        self.browser.get(self.url("/"))

    # ---- helpers ----

    def url(self, path):
        return "http://%s%s" % (self.address, path)

    def post(self, path, **params):
        return http_request(self.url(path), "POST", params, json_body=False, timeout=10)[1]

    def wait_for(self, condition, what):
        """Waits until condition(browser) is true-ish; rows are redrawn, so stale elements retry."""
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.browser, WAIT_SECONDS,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(condition)
        except TimeoutException:
            self.fail("timed out waiting for %s; the page says: %s" % (what, self.page_text()))

    def element(self, css):
        from selenium.webdriver.common.by import By
        return self.browser.find_element(By.CSS_SELECTOR, css)

    def page_text(self):
        from selenium.webdriver.common.by import By
        return self.browser.find_element(By.TAG_NAME, "body").text

    def cell(self, instance_id, column):
        """The text of a column (1-based) of an instance's row; '' while the row is not there."""
        from selenium.webdriver.common.by import By
        rows = self.browser.find_elements(By.ID, "instance-%d" % instance_id)
        if not rows:
            return ""
        return rows[0].find_element(By.CSS_SELECTOR, "td:nth-child(%d)" % column).text

    def status_of(self, instance_id):
        return self.cell(instance_id, 3)

    def log_in(self, username, password):
        self.wait_for(lambda b: self.element("#login-form").is_displayed(), "the login form")
        self.element("#username").send_keys(username)
        self.element("#password").send_keys(password)
        self.element("#login-button").click()

    def click_action(self, instance_id, label):
        from selenium.webdriver.common.by import By
        self.wait_for(
            lambda b: b.find_element(By.CSS_SELECTOR, "#instance-%d button[title='%s instance %d']"
                                     % (instance_id, label, instance_id)),
            "the %s button of instance %d" % (label, instance_id),
        ).click()

    # ---- the scenarios ----

    def test_logs_in_sees_instances_and_stops_one(self):
        self.log_in("luoyun", "luoyun")
        self.wait_for(lambda b: self.status_of(1) and self.status_of(2), "the list of instances")
        self.assertEqual(self.element("#who-name").text, "luoyun")
        self.assertEqual([self.cell(1, 2), self.status_of(1), self.cell(1, 4)],
                         ["openerp7 img gz", STOPPED, "spice://127.0.0.2"])
        self.assertEqual([self.cell(2, 2), self.status_of(2)], ["gallery3", NEW])

        # Instance 1 is stopped: start it, then stop it, and see each status on the page.
        self.click_action(1, "Start")
        self.wait_for(lambda b: self.status_of(1) == RUNNING, "instance 1 to show as running")
        self.click_action(1, "Stop")
        self.wait_for(lambda b: self.status_of(1) == STOPPED, "instance 1 to show as stopped again")
        self.assertEqual(self.element("#message").text, "Instance 1 (openerp7 img gz) stopped.")
        # The page shows what the service holds, not only what it expects.
        session = self.post("/api/login", username="luoyun", password="luoyun")["session_key"]
        answer = self.post("/api/instance/query", session_key=session, instance_id=1)
        self.assertEqual(answer["instance"]["status_string"], STOPPED)

        os.makedirs(ARTIFACTS, exist_ok=True)
        self.assertTrue(self.browser.save_screenshot(SCREENSHOT), "the screenshot was not saved")
        self.assertGreater(os.path.getsize(SCREENSHOT), 0)

    def test_deleting_an_instance_asks_first_and_removes_its_row(self):
        # An instance of its own, so that the demo's two stay as the other scenario expects.
        session = self.post("/api/login", username="luoyun", password="luoyun")["session_key"]
        created = self.post("/api/instance/create", session_key=session, image_id=1, name="scratch")
        self.assertEqual(created["code"], 0, created)
        vm = created["instance"]["id"]
        self.log_in("luoyun", "luoyun")
        self.wait_for(lambda b: self.status_of(vm) == NEW, "the new instance's row")

        # Declining the confirmation changes nothing.
        self.click_action(vm, "Delete")
        self.wait_for(lambda b: b.switch_to.alert, "the confirmation").dismiss()
        self.assertEqual(self.status_of(vm), NEW)
        answer = self.post("/api/instance/query", session_key=session, instance_id=vm)
        self.assertEqual(answer["instance"]["status_string"], NEW)

        self.click_action(vm, "Delete")
        self.wait_for(lambda b: b.switch_to.alert, "the confirmation").accept()
        self.wait_for(lambda b: self.status_of(vm) == "", "the row of instance %d to go" % vm)
        self.assertEqual(self.element("#message").text, "Instance %d (scratch) deleted." % vm)
        answer = self.post("/api/instance/query", session_key=session, instance_id=vm)
        self.assertEqual(answer["instance"]["status_string"], "instance is deleted")

    def test_a_wrong_password_shows_the_services_message(self):
        # Another username than the scenario's, so that its failure does not slow luoyun's login.
        self.log_in("nobody", "wrong")
        self.wait_for(lambda b: self.element("#message").text, "the error message")
        self.assertEqual(self.element("#message").text, "Wrong username or password.")
        self.assertTrue(self.element("#login-form").is_displayed())
        self.assertFalse(self.element("#instances-view").is_displayed())

    def test_logging_out_returns_to_the_login_form_and_ends_the_session(self):
        self.log_in("luoyun", "luoyun")
        self.wait_for(lambda b: self.element("#instances-view").is_displayed(), "the instances")
        key = self.browser.execute_script("return window.sessionStorage.getItem('dcp.cloud-portal.session');")
        self.element("#logout").click()
        self.wait_for(lambda b: self.element("#login-form").is_displayed(), "the login form")
        self.assertEqual(self.element("#message").text, "You are logged out.")
        answer = self.post("/api/myun/instance", session_key=key)
        self.assertEqual((answer["code"], answer["desc"]), (2, "Requires authentication"))


if __name__ == "__main__":
    unittest.main()
