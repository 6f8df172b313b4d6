"""A person in a real browser: logs in with email and password, lists the API users, opens one,
edits it with the HTML form and with the raw data form, and reads a refusal in words; Swagger UI
calls the API with a key typed after `JWT`, and Redoc renders. The result is checked through
the API, and no request any page makes leaves the service.

Headless Chromium from Debian (chromium, chromium-driver) drives pytest-django's live server;
.ci/run installs both. Nothing is downloaded: Selenium is handed both binaries.
"""

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import WebDriverWait

from apiusers.models import User

from .conftest import client_for, url
from .factories import UserFactory, grant

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "Needs Debian's headless browser: apt-get install chromium chromium-driver "
        "(/usr/bin/chromium and /usr/bin/chromedriver; .ci/run installs them).",
        allow_module_level=True,
    )

# The live server reads the database from another thread: the test's data must be committed.
# serialized_rollback keeps the built-in roles (a data migration) for the tests after this one.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WAIT_SECONDS = 30
EMAIL, PASSWORD = "owner@example.com", "correct horse battery staple"
PATTERN = "This value does not match the required pattern."


@pytest.fixture
def chromium(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1600",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]:
        options.add_argument(argument)
    # The DevTools network events of the pages, read by requests_outside().
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    yield driver
    driver.quit()


def wait_for(driver, condition):
    return WebDriverWait(driver, WAIT_SECONDS).until(condition)


def requests_outside(driver, live_server) -> list[str]:
    """The URLs the pages asked for, since the last call, from anywhere but the live server.

    A request the Content-Security-Policy blocked never left the browser, so it does not
    count; data:, blob: and the browser's own chrome:// pages are not network requests."""
    events = [json.loads(entry["message"])["message"] for entry in driver.get_log("performance")]
    blocked = {
        event["params"]["requestId"]
        for event in events
        if event["method"] == "Network.loadingFailed" and event["params"].get("blockedReason")
    }
    here = urlsplit(live_server.url).netloc
    return [
        event["params"]["request"]["url"]
        for event in events
        if event["method"] == "Network.requestWillBeSent"
        and event["params"]["requestId"] not in blocked
        and urlsplit(event["params"]["request"]["url"]).scheme in {"http", "https", "ws", "wss"}
        and urlsplit(event["params"]["request"]["url"]).netloc != here
    ]


def response_of(driver) -> str:
    """The answer shown on a browsable API page: status line, headers and JSON body."""
    return driver.find_element(By.CSS_SELECTOR, ".response-info").text


def submit(driver, button) -> None:
    """Click a form's button and wait for the answer's page to replace this one."""
    old_page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    wait_for(driver, shown.staleness_of(old_page))
    wait_for(driver, shown.presence_of_element_located((By.CSS_SELECTOR, ".response-info")))


def html_form(driver):
    driver.find_element(By.CSS_SELECTOR, "a[name=html-tab]").click()
    return wait_for(
        driver, shown.visibility_of_element_located((By.CSS_SELECTOR, "#put-object-form form"))
    )


def type_into(form, name: str, text: str) -> None:
    field = form.find_element(By.NAME, name)
    field.clear()
    if text:
        field.send_keys(text)


def send_raw(driver, body: str, method: str) -> None:
    """Send `body` as JSON from the raw data form, with its PUT or PATCH button."""
    driver.find_element(By.CSS_SELECTOR, "a[name=raw-tab]").click()
    form = wait_for(
        driver,
        shown.visibility_of_element_located((By.CSS_SELECTOR, "#put-generic-content-form form")),
    )
    media_type = form.find_element(By.CSS_SELECTOR, "select[data-override=content-type]")
    assert media_type.get_attribute("value") == "application/json"
    type_into(form, "_content", body)
    button = next(
        button
        for button in form.find_elements(By.CSS_SELECTOR, ".form-actions button")
        if button.text == method
    )
    submit(driver, button)


@pytest.fixture
def owner(account):
    person = UserFactory(account=account, email=EMAIL, name="Owner")
    grant(person, "Owner")
    return person


def test_a_person_edits_an_api_user_with_the_html_form_and_the_raw_data_form(
    chromium, live_server, owner, admin, api_user
):
    api = client_for(admin[1])
    chromium.get(f"{live_server.url}/api-auth/login/?next=/api-users/")
    chromium.find_element(By.NAME, "username").send_keys(EMAIL)
    chromium.find_element(By.NAME, "password").send_keys(PASSWORD)
    chromium.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    # The list, then the API user's own page through its link.
    wait_for(chromium, shown.text_to_be_present_in_element((By.TAG_NAME, "h1"), "API Users"))
    assert '"count": 2' in response_of(chromium)
    chromium.find_element(By.LINK_TEXT, "ci-bot").click()
    wait_for(chromium, shown.url_to_be(f"{live_server.url}{url(api_user)}"))
    assert '"name": "ci-bot"' in response_of(chromium)

    # The HTML form: rename, remove "prod" by emptying its row, add a label in a spare row.
    form = html_form(chromium)
    type_into(form, "name", "renamed-bot")
    type_into(form, "labels[1]name", "")
    type_into(form, "labels[1]color", "")
    type_into(form, "labels[2]name", "staging")
    type_into(form, "labels[2]color", "#123456")
    submit(chromium, form.find_element(By.CSS_SELECTOR, ".form-actions button"))

    assert f"PATCH {url(api_user)}" in chromium.find_element(By.CSS_SELECTOR, ".request-info").text
    assert response_of(chromium).startswith("HTTP 200 OK")
    body = api.get(url(api_user)).json()
    assert body["name"] == "renamed-bot"
    assert {(label["name"], label["color"]) for label in body["labels"]} == {
        ("ci", "#00FF00"),
        ("staging", "#123456"),
    }
    assert body["changed_by"]["id"] == owner.id

    # A refused change: the reason in words above the answer and under the input.
    form = html_form(chromium)
    assert form.find_element(By.NAME, "name").get_attribute("value") == "renamed-bot"
    type_into(form, "labels[0]color", "not a colour")
    submit(chromium, form.find_element(By.CSS_SELECTOR, ".form-actions button"))

    errors = chromium.find_element(By.ID, "error-messages").text
    assert "HTTP 400 Bad Request. Nothing was changed:" in errors
    assert f"labels[0]color: {PATTERN}" in errors
    form = html_form(chromium)
    cell = form.find_element(By.NAME, "labels[0]color").find_element(By.XPATH, "..")
    assert cell.get_attribute("class") == "has-error"
    assert cell.find_element(By.CSS_SELECTOR, ".help-block").text == PATTERN
    assert api.get(url(api_user)).json() == body

    # The raw data form, JSON: PATCH some fields, then PUT them all.
    send_raw(chromium, '{"labels": [{"name": "raw", "color": "#ABCDEF"}]}', "PATCH")
    assert response_of(chromium).startswith("HTTP 200 OK")
    body = api.get(url(api_user)).json()
    assert (body["name"], [label["name"] for label in body["labels"]]) == ("renamed-bot", ["raw"])

    send_raw(chromium, '{"name": "put-bot", "active": false, "labels": []}', "PUT")
    assert response_of(chromium).startswith("HTTP 200 OK")
    body = api.get(url(api_user)).json()
    assert (body["name"], body["active"], body["labels"]) == ("put-bot", False, [])
    assert User.objects.get(pk=api_user.pk).changed_by_id == owner.id

    assert requests_outside(chromium, live_server) == []


def test_swagger_ui_calls_the_api_with_a_jwt_key_and_redoc_renders(
    chromium, live_server, admin, api_user
):
    chromium.get(f"{live_server.url}/docs/")
    wait_for(chromium, shown.element_to_be_clickable((By.CSS_SELECTOR, "button.authorize")))
    chromium.find_element(By.CSS_SELECTOR, "button.authorize").click()
    key_input = wait_for(
        chromium, shown.visibility_of_element_located((By.CSS_SELECTOR, ".auth-container input"))
    )
    key_input.send_keys(f"JWT {admin[1]}")
    chromium.find_element(By.CSS_SELECTOR, ".auth-container .modal-btn.authorize").click()
    chromium.find_element(By.CSS_SELECTOR, ".modal-btn.btn-done").click()

    operation = chromium.find_element(By.ID, "operations-API_Users-api_users_retrieve")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait_for(chromium, shown.element_to_be_clickable((By.CSS_SELECTOR, ".try-out__btn"))).click()
    operation.find_element(By.CSS_SELECTOR, "input[placeholder=id]").send_keys(api_user.id)
    operation.find_element(By.CSS_SELECTOR, "button.execute").click()
    status = (By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status")
    wait_for(chromium, shown.text_to_be_present_in_element(status, "200"))
    assert (
        '"name": "ci-bot"' in operation.find_element(By.CSS_SELECTOR, ".live-responses-table").text
    )

    chromium.get(f"{live_server.url}/redoc/")
    wait_for(
        chromium,
        shown.text_to_be_present_in_element((By.TAG_NAME, "body"), "Partial Update API User"),
    )

    assert requests_outside(chromium, live_server) == []
