"""The web app in a real browser: headless Chromium (Debian's) driven by selenium.

A reader types a question, sees a verbatim quote from 第455期, follows the citation to the
highlighted passage; an admin is refused with a wrong token, then logs in, uploads a new issue,
re-indexes, and the new fact becomes answerable. The app runs under uvicorn on 127.0.0.1 over a
temp copy of corpus/ indexed with the tiny `HashEmbedder`; nothing reaches the network.

Set BULLETIN_BOT_SCREENSHOT=docs/screenshot-ask.png to refresh the screenshot in the docs.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from bulletin_bot.config import Settings
from bulletin_bot.embedding import HashEmbedder
from bulletin_bot.service import BulletinService
from bulletin_bot.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip("browser tests need Debian's chromium and chromium-driver (run `make sysdeps`)",
                allow_module_level=True)

import uvicorn  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service as ChromeService  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
TOKEN = "browser-test-token"
QUESTION = "泗洪县理论宣讲做法"

from conftest import NEW_FACT, NEW_ISSUE, NEW_QUESTION  # noqa: E402  (a second issue, uploaded by tests)
from conversation_corpus import write_archive  # noqa: E402

CHROME_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--lang=zh-CN", "--window-size=1000,1200",
)


@contextmanager
def serving(root: Path, archive: bool = False):
    """The app under uvicorn in a thread, on a port the OS picked, over a copy of corpus/ (and
    with `archive` the conversation archive); yields (base url, service, settings)."""
    shutil.copytree(CORPUS, root / "corpus")
    if archive:
        write_archive(root / "corpus")  # where a follow-up's right answer is known
    settings = Settings(corpus=root / "corpus", index=root / "index", cache=root / "cache", model="hash",
                        web_admin_token=TOKEN)
    service = BulletinService(settings, embedder=HashEmbedder())
    service.reindex()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(service, settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", service, settings
    server.should_exit = True
    thread.join(5)
    sock.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("web-browser")) as served:
        yield served


@pytest.fixture(scope="module")
def talk_site(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("web-conversation"), archive=True) as served:
        yield served


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=ChromeService(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def wait(driver, seconds: float = 10) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def console_errors(driver) -> list[str]:
    """Script errors and CSP refusals the page logged since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def ask(driver, base: str, question: str) -> None:
    driver.get(base + "/")
    box = driver.switch_to.active_element  # autofocus puts the caret in the question box
    assert box.get_attribute("id") == "q"
    box.send_keys(question + Keys.ENTER)
    wait(driver).until(EC.presence_of_element_located((By.ID, "answer-heading")))


def test_reader_asks_and_follows_the_citation(site, browser):
    base, service, _ = site
    ask(browser, base, QUESTION)
    first = browser.find_element(By.CSS_SELECTOR, ".result")
    citation = first.find_element(By.CSS_SELECTOR, ".citation a")
    assert citation.text.startswith("第455期 · 2023-12-10 · 【")
    article_id = int(citation.get_attribute("href").split("/articles/")[1].split("?")[0])
    text = service.article(article_id).text
    quoted = [m.text for m in first.find_elements(By.TAG_NAME, "mark")]
    assert quoted and all(q and q in text for q in quoted), "the highlighted sentences are verbatim"

    recent = browser.find_element(By.ID, "recent")
    assert recent.is_displayed() and QUESTION in recent.text, "the question is remembered in the page"

    shot = os.environ.get("BULLETIN_BOT_SCREENSHOT")
    if shot:
        browser.execute_script("window.scrollTo(0, 0)")
        Path(shot).parent.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(shot))

    # keyboard only: Tab from the question box reaches the button, and the citation is a link
    box = browser.find_element(By.ID, "q")
    box.click()
    box.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "提问"

    citation.send_keys(Keys.ENTER)
    mark = wait(browser).until(EC.presence_of_element_located((By.ID, "hl")))
    assert "/articles/" in browser.current_url and "hl=" in browser.current_url
    assert mark.text in text and mark.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    top = browser.execute_script("return arguments[0].getBoundingClientRect().top", mark)
    assert 0 <= top < browser.execute_script("return window.innerHeight"), "scrolled to the passage"
    assert "第455期" in browser.find_element(By.CSS_SELECTOR, ".masthead").text
    assert console_errors(browser) == []


def test_not_found_and_phone_sized_screen(site, browser):
    base, _, _ = site
    browser.set_window_size(390, 844)
    try:
        ask(browser, base, "红烧肉怎么做才好吃")
        assert "没有找到" in browser.find_element(By.CSS_SELECTOR, ".not-found").text
        ask(browser, base, QUESTION)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, "no sideways scrolling on a phone"
        button = browser.find_element(By.CSS_SELECTOR, "form.ask button")
        box = browser.find_element(By.ID, "q")
        assert button.rect["y"] > box.rect["y"], "the button drops below the box on narrow screens"
    finally:
        browser.set_window_size(1000, 1200)


def test_admin_refuses_a_wrong_token_then_uploads_and_reindexes(site, browser, tmp_path):
    base, _, settings = site
    before = {p.name for p in settings.corpus.iterdir()}
    browser.get(base + "/admin")
    token = browser.switch_to.active_element
    assert token.get_attribute("id") == "token"
    token.send_keys("wrong-token" + Keys.ENTER)
    error = wait(browser).until(EC.presence_of_element_located((By.ID, "login-error")))
    assert "令牌不正确" in error.text
    assert not browser.find_elements(By.ID, "file")
    assert {p.name for p in settings.corpus.iterdir()} == before
    console_errors(browser)  # the login page itself answers 401, which Chromium logs

    browser.find_element(By.ID, "token").send_keys(TOKEN + Keys.ENTER)
    upload = wait(browser).until(EC.presence_of_element_located((By.ID, "file")))
    assert browser.execute_script("return document.cookie") == "", "the session cookie is invisible to scripts"

    issue = tmp_path / "456.txt"
    issue.write_text(NEW_ISSUE, encoding="utf-8")
    upload.send_keys(str(issue))
    browser.find_element(By.CSS_SELECTOR, "form.upload button").click()
    message = wait(browser).until(EC.presence_of_element_located((By.ID, "message")))
    assert "ok" in message.get_attribute("class"), message.text
    assert len({p.name for p in settings.corpus.iterdir()} - before) == 1

    browser.find_element(By.ID, "reindex-button").click()
    wait(browser, 30).until(EC.text_to_be_present_in_element((By.ID, "job-text"), "上次重建完成"))
    assert browser.find_element(By.CSS_SELECTOR, '#stats dd[data-key="issues"]').text == "2"

    ask(browser, base, NEW_QUESTION)
    first = browser.find_element(By.CSS_SELECTOR, ".result")
    assert first.find_element(By.CSS_SELECTOR, ".citation a").text.startswith("第456期 · 2023-12-20")
    assert any(NEW_FACT in m.text for m in first.find_elements(By.TAG_NAME, "mark"))
    assert console_errors(browser) == []


def test_everything_a_reader_needs_works_with_javascript_off(site, tmp_path):
    base, service, _ = site
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(options=options, service=ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        ask(driver, base, QUESTION)
        first = driver.find_element(By.CSS_SELECTOR, ".result")
        assert first.find_element(By.CSS_SELECTOR, ".citation a").text.startswith("第455期")
        assert not driver.find_element(By.ID, "recent").is_displayed(), "ask.js did not run"
        first.find_element(By.CSS_SELECTOR, ".citation a").click()
        mark = wait(driver).until(EC.presence_of_element_located((By.ID, "hl")))
        assert driver.current_url.endswith("#hl")
        top = driver.execute_script("return arguments[0].getBoundingClientRect().top", mark)
        assert 0 <= top < driver.execute_script("return window.innerHeight"), "the #hl fragment scrolled there"
        assert "第455期" in driver.find_element(By.CSS_SELECTOR, ".masthead").text
    finally:
        driver.quit()


def test_a_follow_up_is_read_in_the_tabs_conversation(talk_site, browser):
    base, _, _ = talk_site
    ask(browser, base, "2022年山东GDP有多少")
    assert not browser.find_elements(By.ID, "understood")
    ask(browser, base, "广东呢")
    assert browser.find_element(By.ID, "understood").text == "按“2022年广东GDP有多少”查找："
    first = browser.find_element(By.CSS_SELECTOR, ".result .citation a")
    assert first.text.endswith("广东发布2022年经济运行情况")
    first_tab = browser.current_window_handle
    browser.switch_to.new_window("tab")  # another tab: a conversation of its own
    try:
        ask(browser, base, "广东呢")
        assert not browser.find_elements(By.ID, "understood")
    finally:
        browser.close()
        browser.switch_to.window(first_tab)
    ask(browser, base, "去年的呢")  # the first tab still has its own
    assert browser.find_element(By.ID, "understood").text == "按“2021年广东GDP有多少”查找："
    browser.find_element(By.ID, "new-conversation").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "q")))
    ask(browser, base, "广东呢")
    assert not browser.find_elements(By.ID, "understood")
    assert console_errors(browser) == []
