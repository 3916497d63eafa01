"""Fixtures of the admin's tests: the application on the test database, managers of each
built-in role, a test client that logs in and sends forms with their CSRF token, and a
live server and one Chromium (for the whole session: Playwright's sync API allows one
at a time) for the browser tests."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from admin import staff
from admin.app import create_app
from plugins.testing_admin import PASSWORD, add_manager
from plugins.testing_admin import AdminClient as Client


@pytest.fixture
def app(runtime):
    return create_app(runtime)


@pytest.fixture
def password() -> str:
    """The password the managers of these tests have."""
    return PASSWORD


@pytest.fixture
def new_client(app):
    """new_client() → a Client not logged in."""
    return lambda: Client(app)


@pytest.fixture
def manager(runtime, app):
    """manager(login, role, …) → the id of a manager with that role and PASSWORD."""
    return lambda login, role, **kw: add_manager(runtime, login, role, **kw)


@pytest.fixture
def set_up(runtime, app):
    """The first administrator has a password: the admin is open for logging in."""
    add_manager(runtime, staff.FIRST_ADMIN, "administrator")


@pytest.fixture
def login_as(app, runtime, set_up):
    """login_as(role) → a Client logged in as a new manager of that role."""
    def make(role: str, login: str | None = None, language: str = "en") -> Client:
        login = login or role.replace("-", "")
        if login != staff.FIRST_ADMIN:
            add_manager(runtime, login, role, language=language)
        client = Client(app)
        response = client.login(login)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client
    return make


@pytest.fixture
def client(login_as) -> Client:
    """Logged in as the first administrator."""
    return login_as("administrator", staff.FIRST_ADMIN)


@pytest.fixture
def live_server(app):
    """The application on a real socket (for the browser); yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab on the live server; confirmation questions are answered yes
    (and remembered in `page.questions`)."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1440, "height": 900},
                                  locale="en-US")
    tab = context.new_page()
    tab.questions = []

    def answer(dialog):
        tab.questions.append(dialog.message)
        dialog.accept()
    tab.on("dialog", answer)
    yield tab
    context.close()
