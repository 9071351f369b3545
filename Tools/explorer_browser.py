"""Headless Chromium driven by Selenium for the explorer: checks of Tools/e2e_tests.py (Debian's chromium and
chromium-driver, installed by Tools/deps; Selenium from Tools/e2e-requirements.txt in Tools/.venv-e2e)."""
import os, time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDE, NARROW = 1280, 390


class Explorer:
    """One browser on one node's explorer. Both paths are given, so Selenium Manager never looks for (or fetches)
    a browser or driver."""

    def __init__(self, base_url):
        self.base = base_url.rstrip("/")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={WIDE},900", "--no-first-run", "--disable-extensions"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.console = []

    def close(self):
        self.driver.quit()

    def open(self, route, page, seconds=15):
        """Goes to a hash route and waits until the app has rendered that page (main[data-page])."""
        if not self.driver.current_url.startswith(self.base):
            self.driver.get(self.base + "/" + route)
        else:
            self.driver.execute_script(
                "document.getElementById('page').dataset.page = '';"
                "if (location.hash === arguments[0]) location.reload(); else location.hash = arguments[0];", route)
        self.wait(lambda: self.page() == page, seconds, f"page {page} at {route} (now {self.page()!r}: {self.error()})")

    # Reads run as one script each: the live pages redraw on every block, so elements found in one call may be gone
    # in the next.

    def page(self):
        return self.driver.execute_script("return document.getElementById('page').dataset.page")

    def error(self):
        return self.driver.execute_script(
            "const e = document.querySelector('[data-field=error]'); return e ? e.textContent : ''")

    def field(self, name):
        text = self.driver.execute_script(
            "const e = document.querySelector(`#page [data-field='${arguments[0]}']`); return e ? e.innerText : null", name)
        if text is None:
            raise AssertionError(f"explorer: no field {name} on page {self.page()}")
        return text.strip()

    def rows(self, listing):
        """The rows of a list table, each as its cells' texts and the full values (title) of its shortened cells."""
        return [(cells, titles) for cells, titles in self.driver.execute_script(
            "return [...document.querySelectorAll(`#page table[data-list='${arguments[0]}'] tbody tr`)].map((row) => ["
            "[...row.querySelectorAll('td')].map((cell) => cell.innerText.trim()),"
            "[...row.querySelectorAll('span.mono')].map((span) => span.title)])", listing)]

    def search(self, text):
        box = self.driver.find_element(By.ID, "search-input")
        box.clear()
        box.send_keys(text)
        self.driver.find_element(By.CSS_SELECTOR, "#search button").click()

    def wait(self, predicate, seconds, what):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if predicate():
                    return
            except Exception:
                pass
            time.sleep(0.2)
        raise AssertionError(f"explorer: timed out after {seconds} s waiting for {what}")

    def screenshots(self, directory, name):
        """PNG files of the current page at 1280 px and 390 px widths (full page height); returns their paths."""
        paths = []
        for width in (WIDE, NARROW):
            self.driver.set_window_size(width, 900)
            height = self.driver.execute_script("return document.documentElement.scrollHeight")
            self.driver.set_window_size(width, min(max(height, 600), 4000))
            time.sleep(0.3)
            path = os.path.join(directory, f"{name}-{width}.png")
            self.driver.save_screenshot(path)
            paths.append(path)
        self.driver.set_window_size(WIDE, 900)
        return paths

    def console_errors(self):
        """Console entries of level SEVERE since the browser started (JavaScript errors, failed loads, CSP)."""
        self.console += self.driver.get_log("browser")
        return [entry["message"] for entry in self.console if entry["level"] == "SEVERE"]
