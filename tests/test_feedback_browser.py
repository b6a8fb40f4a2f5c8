"""The rating page in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from core.feedback.app import create_app
from core.feedback.store import Store

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver")
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "feedback.png"
XSS_A = "<script>window.__pwned = 1</script>Paris"
XSS_B = '<img src=x onerror="window.__pwned = 2">Lyon'


@pytest.fixture()
def server(tmp_path):
    import uvicorn

    store = Store(tmp_path / "fb.db", overlap=1)
    pairs = [{"prompt": [{"role": "user", "content": "What is the capital of France?"}],
              "prompt_text": "What is the capital of France?", "completion_a": XSS_A, "completion_b": XSS_B,
              "model_a": "m", "model_b": "m", "reward_a": 1.0, "reward_b": 0.0, "task": "qa"}]
    pairs += [{"prompt": f"Q{i}", "prompt_text": f"Question {i}: how many legs has a cat?",
               "completion_a": f"{i} legs", "completion_b": "four legs", "model_a": "m", "model_b": "m"}
              for i in range(1, 6)]
    store.add_pairs(pairs)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/", store
    srv.should_exit = True
    thread.join(5)


@pytest.fixture()
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def wait_for(fn, timeout: float = 10.0):
    end = time.time() + timeout
    while time.time() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_rate_by_click_and_keys_undo_and_inert_markup(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, store = server
    browser.get(url)
    browser.find_element(By.ID, "rater").send_keys("alice", Keys.ENTER)
    pair_id = lambda: browser.find_element(By.ID, "rating").get_attribute("data-pair-id")  # noqa: E731
    wait_for(lambda: pair_id() == "1")
    # markup inside completions is shown as characters and never runs
    assert browser.find_element(By.ID, "completion-a").text == XSS_A
    assert browser.find_element(By.ID, "completion-b").text == XSS_B
    assert browser.find_elements(By.CSS_SELECTOR, "main img, main script") == []
    time.sleep(0.3)
    assert browser.execute_script("return window.__pwned === undefined")
    browser.save_screenshot(str(SCREENSHOT)) if SCREENSHOT.parent.is_dir() else None

    browser.find_element(By.CSS_SELECTOR, '#ratings button[data-rating="4"]').click()
    browser.find_element(By.ID, "correction").send_keys("Paris")
    browser.find_element(By.ID, "choose-a").click()                        # pair 1: A by click, rating, correction
    wait_for(lambda: pair_id() == "2")
    browser.find_element(By.ID, "choose-both_bad").click()                 # pair 2: both bad by click
    wait_for(lambda: pair_id() == "3")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("b")                                                    # pair 3: B by key
    wait_for(lambda: pair_id() == "4")
    body.send_keys("3", "t")                                               # pair 4: rating 3 + tie by keys
    wait_for(lambda: pair_id() == "5")
    body.send_keys("u")                                                    # undo pair 4
    wait_for(lambda: pair_id() == "4")
    wait_for(lambda: "undone" in browser.find_element(By.ID, "status").text)
    wait_for(lambda: "you rated 3" in browser.find_element(By.ID, "progress").text)

    got = [(j["pair_id"], j["rater"], j["choice"], j["rating"], j["correction"]) for j in store.judgements()]
    assert got == [(1, "alice", "a", 4, "Paris"), (2, "alice", "both_bad", None, None), (3, "alice", "b", None, None)]
