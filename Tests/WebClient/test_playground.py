"""The playground page (GET /playground) in a real browser: headless Chromium through
chromium-driver and Selenium, against the service and MockBedrock binaries. Screenshots of the
desktop and phone widths go to .build/screenshots/."""
import hashlib
import json
import tempfile
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as expected
from selenium.webdriver.support.ui import WebDriverWait

from binaries import Service, mock_call, ndjson
from conftest import SCREENSHOTS


def open_playground(browser, service, query="", width=1280, height=900):
    browser.set_window_size(width, height)
    browser.get(f"http://127.0.0.1:{service.port}/playground{query}")
    browser.get_log("browser")  # what an earlier page logged is not this page's
    WebDriverWait(browser, 10).until(lambda driver: driver.execute_script(
        "return document.readyState === 'complete' && !!document.getElementById('session-id').value"))


def ask(browser, text):
    prompt = browser.find_element(By.ID, "prompt")
    prompt.send_keys(text)
    prompt.send_keys(Keys.ENTER)


def switch_agent(browser, agent):
    field = browser.find_element(By.ID, "agent-id")
    field.clear()
    field.send_keys(agent)


def last_answer(browser):
    return browser.find_elements(By.CSS_SELECTOR, "#conversation .turn.agent")[-1]


def wait_answered(browser, count=1, timeout=20):
    """Waits until `count` answers have ended; returns the last one."""
    WebDriverWait(browser, timeout).until(lambda driver: len(driver.find_elements(
        By.CSS_SELECTOR, '#conversation .turn.agent .answer-text[aria-busy="false"]')) >= count)
    return last_answer(browser)


def answer_text(turn):
    """The answer's text without its citation markers."""
    return turn.parent.execute_script(
        "const copy = arguments[0].querySelector('.answer-text').cloneNode(true);"
        "copy.querySelectorAll('sup').forEach((mark) => mark.remove()); return copy.textContent;", turn)


def final_content(service, agent):
    _, _, body = service.stream({"input_text": "Hi", "agent_id": agent})
    return ndjson(body)[-1]["final_content"]


def no_page_errors(browser):
    """Nothing the page logged at error level: no CSP refusal, no script error."""
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_the_answer_grows_as_it_streams(browser, service):
    expected_text = final_content(service, "SLOW")
    open_playground(browser, service, "?agent_id=SLOW")
    ask(browser, "Tell me slowly")
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        turns = browser.find_elements(By.CSS_SELECTOR, "#conversation .turn.agent")
        if turns:
            # Text and state read together: the answer may end between two separate reads.
            text, busy = browser.execute_script(
                "const answer = arguments[0].querySelector('.answer-text');"
                "return [answer.textContent, answer.getAttribute('aria-busy')];", turns[-1])
            seen.append(text)
            if busy == "false":
                break
        time.sleep(0.05)
    assert seen[-1] == expected_text
    partial = [text for text in seen if text and text != expected_text]
    # SLOW sends ten chunks 200 ms apart: checks between chunks see strict prefixes, growing.
    assert len(set(partial)) >= 3, seen
    assert all(expected_text.startswith(text) and len(text) < len(expected_text) for text in partial)
    assert browser.find_element(By.CSS_SELECTOR, ".turn.user").text == "Tell me slowly"
    request_id = last_answer(browser).find_element(By.CSS_SELECTOR, ".request-id").text
    assert request_id.startswith("request ") and len(request_id) > len("request ")
    live = last_answer(browser).find_element(By.CSS_SELECTOR, ".answer-text")
    assert live.get_attribute("aria-live") == "polite"
    no_page_errors(browser)


def test_stop_cancels_the_bedrock_call(browser, service, mock):
    before = mock_call(mock, "/_mock/stats")["streamsInterrupted"]
    open_playground(browser, service, "?agent_id=SLOW")
    ask(browser, "Hi")
    WebDriverWait(browser, 10).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, ".turn.agent .answer-text")
                                     and last_answer(driver).find_element(By.CSS_SELECTOR, ".answer-text").text)
    stop = browser.find_element(By.ID, "stop")
    assert stop.is_enabled()
    stop.click()
    turn = wait_answered(browser)
    assert turn.find_element(By.CSS_SELECTOR, ".error .code").text == "aborted"
    assert "will not help" in turn.find_element(By.CSS_SELECTOR, ".error .hint").text
    assert not browser.find_element(By.ID, "stop").is_enabled()
    deadline = time.monotonic() + 5
    while mock_call(mock, "/_mock/stats")["streamsInterrupted"] == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mock_call(mock, "/_mock/stats")["streamsInterrupted"] == before + 1
    no_page_errors(browser)


def test_return_control_form_round_trip(browser, service):
    open_playground(browser, service, "?agent_id=RETCTRL")
    ask(browser, "What is the weather in Seattle?")
    form = WebDriverWait(browser, 10).until(expected.presence_of_element_located((By.CSS_SELECTOR, "form.tool-request")))
    assert form.find_element(By.CSS_SELECTOR, ".tool-name").text == "WeatherActions / get_weather"
    cells = [cell.text for cell in form.find_elements(By.CSS_SELECTOR, "td")]
    assert cells == ["city", "Seattle"]
    result = form.find_element(By.CSS_SELECTOR, "textarea.tool-result")
    assert browser.switch_to.active_element == result, "the result field has the focus"
    result.send_keys("15 degrees, raining")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    turn = wait_answered(browser, count=2)
    assert answer_text(turn) == "It is 15 degrees and raining in Seattle."
    assert not form.find_element(By.CSS_SELECTOR, "button[type=submit]").is_enabled(), "a result is sent once"
    no_page_errors(browser)


def test_an_exception_shows_its_code_and_whether_a_retry_may_help(browser, service):
    open_playground(browser, service, "?agent_id=EXTHROTTLE")
    ask(browser, "Hi")
    turn = wait_answered(browser)
    error = turn.find_element(By.CSS_SELECTOR, ".error")
    assert error.get_attribute("role") == "alert"
    assert error.find_element(By.CSS_SELECTOR, ".code").text == "throttled"
    assert "A retry may help" in error.find_element(By.CSS_SELECTOR, ".hint").text
    assert error.find_element(By.CSS_SELECTOR, "button.retry").is_displayed()
    # The text streamed before the exception stays in place.
    _, _, body = service.stream({"input_text": "Hi", "agent_id": "EXTHROTTLE"})
    streamed = [line["accumulated_content"] for line in ndjson(body) if line["type"] == "chunk"]
    assert streamed and answer_text(turn) == streamed[-1]
    no_page_errors(browser)


def test_citations_files_traces_and_a_split_character(browser, service):
    open_playground(browser, service, "?agent_id=CITED")
    ask(browser, "Cite")
    turn = wait_answered(browser)
    references = turn.find_elements(By.CSS_SELECTOR, ".references li")
    markers = [mark.text for mark in turn.find_elements(By.CSS_SELECTOR, "sup.cite")]
    assert len(references) >= 2 and markers == [f"[{n}]" for n in range(1, len(references) + 1)]
    assert "s3://docs-bucket/agents.md" in references[0].text
    assert answer_text(turn) == final_content(service, "CITED")

    switch_agent(browser, "UTF8SPLIT")
    ask(browser, "Accents")
    turn = wait_answered(browser, count=2)
    assert answer_text(turn) == final_content(service, "UTF8SPLIT")
    assert "é" in answer_text(turn) and "😀" in answer_text(turn) and "\ufffd" not in answer_text(turn)

    switch_agent(browser, "FILES")
    ask(browser, "A file")
    turn = wait_answered(browser, count=3)
    link = turn.find_element(By.CSS_SELECTOR, ".files a")
    assert link.get_attribute("download") and link.get_attribute("href").startswith("blob:")

    switch_agent(browser, "TRACED")
    ask(browser, "Think aloud")
    turn = wait_answered(browser, count=4)
    panel = turn.find_element(By.CSS_SELECTOR, "details.trace")
    assert panel.get_attribute("open") is None, "collapsed until opened"
    assert panel.find_element(By.TAG_NAME, "summary").text.startswith("Trace (")
    panel.find_element(By.TAG_NAME, "summary").click()
    assert "orchestrationTrace" in panel.find_element(By.TAG_NAME, "pre").text
    no_page_errors(browser)


def test_keyboard_sessions_and_the_query_string(browser, service):
    open_playground(browser, service, "?agent_id=HELLO&agent_alias_id=ALIAS12345")
    assert browser.find_element(By.ID, "agent-id").get_attribute("value") == "HELLO"
    assert browser.find_element(By.ID, "agent-alias-id").get_attribute("value") == "ALIAS12345"
    browser.find_element(By.ID, "agent-alias-id").clear()
    prompt = browser.find_element(By.ID, "prompt")
    prompt.send_keys("first line")
    prompt.send_keys(Keys.SHIFT, Keys.ENTER)
    prompt.send_keys("second line")
    assert prompt.get_attribute("value") == "first line\nsecond line"
    assert browser.find_elements(By.CSS_SELECTOR, ".turn.user") == []
    prompt.send_keys(Keys.ENTER)
    wait_answered(browser)
    assert browser.find_element(By.CSS_SELECTOR, ".turn.user").text == "first line\nsecond line"
    session = browser.find_element(By.ID, "session-id").get_attribute("value")
    ask(browser, "again")
    wait_answered(browser, count=2)
    assert browser.find_element(By.ID, "session-id").get_attribute("value") == session, "the session goes on"
    browser.find_element(By.ID, "new-session").click()
    assert browser.find_element(By.ID, "session-id").get_attribute("value") != session
    assert browser.find_elements(By.CSS_SELECTOR, "#conversation li") == []
    no_page_errors(browser)


def test_with_api_keys_a_missing_key_shows_401_and_the_key_streams(browser, mock):
    key = "playground-test-key-0123456789abcdef"
    folder = Path(tempfile.mkdtemp())
    (folder / "keys.json").write_text(json.dumps({"keys": [{"id": "playground", "sha256": hashlib.sha256(key.encode()).hexdigest()}]}))
    keyed = Service(mock, {"AUTH_MODE": "api_key", "API_KEYS_FILE": str(folder / "keys.json")})
    try:
        open_playground(browser, keyed, "?agent_id=HELLO")
        browser.execute_script("sessionStorage.clear()")
        field = browser.find_element(By.ID, "credential")
        assert field.is_displayed() and field.get_attribute("type") == "password"
        assert browser.find_element(By.ID, "credentials-label").text == "API key"
        ask(browser, "Hi")
        turn = wait_answered(browser)
        assert turn.find_element(By.CSS_SELECTOR, ".error .code").text == "authentication_required"
        field.send_keys(key)
        field.send_keys(Keys.TAB)  # the change event keeps it for the tab
        ask(browser, "Hi")
        turn = wait_answered(browser, count=2)
        _, _, body = keyed.stream({"input_text": "Hi", "agent_id": "HELLO"}, headers={"X-API-Key": key})
        assert answer_text(turn) == ndjson(body)[-1]["final_content"]
        assert turn.find_elements(By.CSS_SELECTOR, ".error") == []
        assert browser.execute_script("return sessionStorage.getItem('playground-credential')") == key
        # The browser sent the 401 to the console as a failed request; nothing else went wrong.
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE" and "401" not in entry["message"]]
        assert errors == []
    finally:
        keyed.stop()


@pytest.mark.parametrize("name,width,height", [("desktop", 1280, 900), ("phone", 375, 812)])
def test_screenshots_at_desktop_and_phone_widths(browser, service, name, width, height):
    open_playground(browser, service, "?agent_id=CITED", width=width, height=height)
    ask(browser, "What do the docs say about agents?")
    wait_answered(browser)
    switch_agent(browser, "RETCTRL")
    ask(browser, "What is the weather in Seattle?")
    WebDriverWait(browser, 10).until(expected.presence_of_element_located((By.CSS_SELECTOR, "form.tool-request")))
    switch_agent(browser, "EXTHROTTLE")
    ask(browser, "And now?")
    wait_answered(browser, count=3)
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    for control in ("prompt", "send", "stop", "agent-id", "session-id", "new-session"):
        box = browser.find_element(By.ID, control).rect
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, control
    # The latest answer is in view above the composer, which stays at the bottom.
    error = browser.find_elements(By.CSS_SELECTOR, ".turn.agent .error")[-1].rect
    composer = browser.find_element(By.ID, "composer").rect
    assert error["y"] + error["height"] <= composer["y"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOTS / f"playground-{name}.png"))
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(SCREENSHOTS / f"playground-{name}-top.png"))
    no_page_errors(browser)
