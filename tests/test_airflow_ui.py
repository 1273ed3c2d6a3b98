"""Airflow as its users run it: ``make airflow`` starts api-server, scheduler, dag-processor and triggerer;
headless Chromium logs in, sees the three DAGs and no import errors, triggers newswatch_ingest from the UI,
waits for success and saves a screenshot; ``make airflow-stop`` stops everything."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from pipeline.settings import PROJECT_ROOT
from tests.browser import CHROMEDRIVER, CHROMIUM
from tests.conftest import FIXTURES, free_port

pytestmark = [pytest.mark.browser, pytest.mark.airflow,
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Debian chromium/chromium-driver missing")]
DAG_IDS = ("newswatch_ingest", "newswatch_digest", "newswatch_maintenance")
SCREENSHOTS = PROJECT_ROOT / "warehouse" / "screenshots"


@pytest.fixture
def airflow_stack(tmp_path: Path, httpserver: HTTPServer):
    httpserver.expect_request("/alliance.xml").respond_with_data(
        (FIXTURES / "feeds" / "alliance_rss.xml").read_bytes(), content_type="application/rss+xml")
    httpserver.expect_request("/broken.xml").respond_with_data("oops", status=500)
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(f'[[feeds]]\nname = "Alliance Watch"\nurl = "{httpserver.url_for("/alliance.xml")}"\n\n'
                     f'[[feeds]]\nname = "Broken Outlet"\nurl = "{httpserver.url_for("/broken.xml")}"\n',
                     encoding="utf-8")
    port = free_port()
    env = {**os.environ, "NEWSWATCH_AIRFLOW_HOME": str(tmp_path / "airflow"), "NEWSWATCH_AIRFLOW_PORT": str(port),
           "NEWSWATCH_DB": str(tmp_path / "wh.duckdb"), "NEWSWATCH_DIGEST_DIR": str(tmp_path / "digests"),
           "NEWSWATCH_LANDING_DIR": str(tmp_path / "landing"), "NEWSWATCH_FEEDS_FILE": str(feeds),
           "NO_PROXY": "127.0.0.1,localhost"}
    for key in [k for k in env if k.startswith("AIRFLOW")]:
        env.pop(key)
    started = subprocess.run(["make", "-s", "-C", str(PROJECT_ROOT), "airflow"], env=env, capture_output=True,
                             text=True, timeout=400)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "user: admin" in started.stdout
        password = json.loads((tmp_path / "airflow" / "passwords.json").read_text())["admin"]
        yield f"http://127.0.0.1:{port}", password, tmp_path
    finally:
        stopped = subprocess.run(["make", "-s", "-C", str(PROJECT_ROOT), "airflow-stop"], env=env,
                                 capture_output=True, text=True, timeout=120)
        assert "stopped api-server" in stopped.stdout
        assert not list((tmp_path / "airflow" / "pids").glob("*.pid"))


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _body_text(driver) -> str:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except StaleElementReferenceException:
        return ""


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _click(find, timeout: float, what: str) -> None:
    """Find and click, again if the single-page app re-rendered the element in between."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        ElementNotInteractableException,
        StaleElementReferenceException,
    )

    def attempt() -> bool:
        elements = find()
        if not elements:
            return False
        try:
            elements[-1].click()
        except (StaleElementReferenceException, ElementClickInterceptedException, ElementNotInteractableException):
            return False
        return True

    _wait(attempt, timeout, what)


def test_ui_login_dags_trigger_and_success(airflow_stack):
    from selenium.webdriver.common.by import By

    base, password, tmp_path = airflow_stack
    driver = _browser()
    try:
        driver.get(f"{base}/")
        _wait(lambda: driver.find_elements(By.NAME, "username"), 60, "the login form")
        driver.find_element(By.NAME, "username").send_keys("admin")
        driver.find_element(By.NAME, "password").send_keys(password)
        _click(lambda: driver.find_elements(By.CSS_SELECTOR, "button[type=submit]"), 30, "the sign-in button")
        _wait(lambda: "/auth/login" not in driver.current_url, 60, "login")

        driver.get(f"{base}/dags")
        _wait(lambda: all(d in _body_text(driver) for d in DAG_IDS), 120, "the three DAGs in the list")
        assert "Import Error" not in _body_text(driver)

        driver.get(f"{base}/dags/newswatch_ingest")

        def buttons(selector: str) -> list:
            from selenium.common.exceptions import StaleElementReferenceException

            found = []
            for button in driver.find_elements(By.CSS_SELECTOR, selector):
                try:
                    if button.text.strip() == "Trigger":
                        found.append(button)
                except StaleElementReferenceException:
                    continue
            return found

        _click(lambda: buttons("button")[:1] if not buttons("[role=dialog] button") else [], 60, "the Trigger button")
        _click(lambda: buttons("[role=dialog] button"), 30, "the trigger dialog's Trigger button")
        _wait(lambda: "/runs/manual__" in driver.current_url, 60, "the new run's page")
        run_id = driver.current_url.rsplit("/runs/", 1)[1]

        token = httpx.post(f"{base}/auth/token", json={"username": "admin", "password": password}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        errors = httpx.get(f"{base}/api/v2/importErrors", headers=headers).json()
        assert errors["total_entries"] == 0

        def finished() -> str | None:
            run = httpx.get(f"{base}/api/v2/dags/newswatch_ingest/dagRuns/{run_id}", headers=headers).json()
            return run["state"] if run["state"] in ("success", "failed") else None

        assert _wait(finished, 420, "the triggered run to finish") == "success"
        driver.refresh()
        _wait(lambda: "success" in driver.page_source.lower(), 60, "the run page to show success")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = tmp_path / "airflow-ui.png"
        driver.save_screenshot(str(shot))
        shutil.copy(shot, SCREENSHOTS / "airflow-ui-run.png")
        assert shot.stat().st_size > 20_000

        # the run that polled the feeds (the scheduled one, when it came first, or ours): a red square for the
        # feed that answered 500, and the run summary in `process`'s log
        def polled_run() -> str | None:
            runs = httpx.get(f"{base}/api/v2/dags/newswatch_ingest/dagRuns", headers=headers).json()["dag_runs"]
            for run in runs:
                tis = httpx.get(f"{base}/api/v2/dags/newswatch_ingest/dagRuns/{run['dag_run_id']}/taskInstances",
                                headers=headers).json()["task_instances"]
                if any(t["task_id"] == "poll_feed" and t["state"] == "failed" for t in tis) and run["state"] in (
                        "success", "failed"):
                    return run["dag_run_id"]
            return None

        polled = _wait(polled_run, 420, "a finished run with the broken feed's failed poll")
        driver.get(f"{base}/dags/newswatch_ingest/runs/{polled}/tasks/poll_feed/mapped")
        _wait(lambda: "Broken Outlet\nFailed" in _body_text(driver), 60, "the broken feed's failed square")
        assert "Alliance Watch\nSuccess" in _body_text(driver)
        driver.get(f"{base}/dags/newswatch_ingest/runs/{polled}/tasks/process/mapped/0")  # the one batch
        _wait(lambda: '"items_seen"' in _body_text(driver) and "validated" in _body_text(driver), 60,
              "the run summary in the process log")
        assert '"feeds_failed": 1' in _body_text(driver)
    finally:
        driver.quit()
