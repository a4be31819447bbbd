"""The server-rendered pages: login form, roles, language, CSRF, CSP-safe markup."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.appkeys import TEMPLATES, TRANSLATOR
from server.pages import Templates
from tests.conftest import REPO, Session
from tests.seed import PASSWORD, Seed

I18N_BLOCK = re.compile(r'<script type="application/json" id="i18n">(.*?)</script>', re.S)


def _app(client: TestClient[Any, Any]) -> web.Application:
    app = client.app
    assert isinstance(app, web.Application)
    return app


@pytest.fixture
def backend() -> str:
    """Pages do not depend on the database backend: SQLite is enough."""
    return "sqlite"


class Markup(HTMLParser):
    """What a page's markup contains, for the structural checks."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.inline_styles: list[str] = []
        self.handlers: list[str] = []
        self.style_blocks = 0
        self.meta: dict[str, str] = {}
        self.hidden_inputs: dict[str, str] = {}
        self.links: list[str] = []
        self._label_depth = 0
        self.wrapped_controls: set[int] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        if "style" in found:
            self.inline_styles.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "label":
            self._label_depth += 1
            if found.get("for"):
                self.label_for.add(str(found["for"]))
        if tag in {"input", "select", "textarea"}:
            if found.get("type") == "hidden":
                self.hidden_inputs[str(found.get("name"))] = str(found.get("value") or "")
            else:
                if self._label_depth:
                    self.wrapped_controls.add(len(self.controls))
                self.controls.append(found)
        if tag == "script":
            self.scripts.append(found)
        if tag == "style":
            self.style_blocks += 1
        if tag == "meta" and found.get("name"):
            self.meta[str(found["name"])] = str(found.get("content") or "")
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._label_depth -= 1


def parse(html: str) -> Markup:
    """Parse a page."""
    markup = Markup()
    markup.feed(html)
    return markup


def assert_well_formed(html: str) -> Markup:
    """Unique ids, labelled controls, and nothing the CSP would block (no inline code/CSS)."""
    markup = parse(html)
    duplicates = [name for name, count in Counter(markup.ids).items() if count > 1]
    assert not duplicates, f"duplicate ids: {duplicates}"
    for index, control in enumerate(markup.controls):
        labelled = (
            control.get("id") in markup.label_for
            or index in markup.wrapped_controls
            or control.get("aria-label")
            or control.get("aria-labelledby")
        )
        assert labelled, f"control without a label: {control}"
    for script in markup.scripts:
        assert script.get("src") or script.get("type") == "application/json", script
    assert not markup.inline_styles, f"style attributes: {markup.inline_styles}"
    assert not markup.style_blocks, "inline <style> blocks are blocked by the CSP"
    assert not markup.handlers, f"inline event handlers: {markup.handlers}"
    return markup


async def get_page(client: TestClient[Any, Any], path: str) -> tuple[int, str]:
    """GET a page without following redirects."""
    async with client.get(path, allow_redirects=False) as response:
        return response.status, await response.text()


async def form_login(
    client: TestClient[Any, Any], username: str, password: str = PASSWORD, next_url: str = ""
) -> tuple[int, str, str]:
    """POST the login form; returns status, Location and body."""
    async with client.post(
        "/login",
        data={"username": username, "password": password, "next": next_url},
        allow_redirects=False,
    ) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


async def test_login_page_is_russian_by_default_and_csp_safe(
    client: TestClient[Any, Any],
) -> None:
    async with client.get("/login") as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        html = await response.text()
    assert '<html lang="ru">' in html
    assert "Вход в систему" in html
    markup = assert_well_formed(html)
    assert markup.meta["csrf-token"] == ""  # nobody is logged in
    assert "/lang/en?next=/login" in markup.links


async def test_catalogue_is_embedded_as_json_that_cannot_close_the_script(
    client: TestClient[Any, Any],
) -> None:
    translator = _app(client)[TRANSLATOR]
    translator.catalogues["ru"]["probe"] = "</script><script>alert('x')</script> & <b>"
    try:
        status, html = await get_page(client, "/login")
    finally:
        del translator.catalogues["ru"]["probe"]
    assert status == 200
    assert "<script>alert" not in html
    blocks = I18N_BLOCK.findall(html)
    assert len(blocks) == 1
    catalogue = json.loads(blocks[0])
    assert catalogue["probe"] == "</script><script>alert('x')</script> & <b>"
    assert catalogue["Log in"] == "Войти"


async def test_anonymous_visitors_are_sent_to_the_login_form(
    client: TestClient[Any, Any], seed: Seed
) -> None:
    for path in ("/account", f"/tests/{seed.test_id}", "/instructor", "/"):
        async with client.get(path, allow_redirects=False) as response:
            assert response.status == 303, path
            location = response.headers["Location"]
        assert location.startswith("/login"), (path, location)
        if path != "/":
            assert parse_qs(urlsplit(location).query)["next"] == [path]


async def test_login_form_goes_to_the_home_of_the_role_or_to_next(
    client: TestClient[Any, Any], seed: Seed
) -> None:
    assert (await form_login(client, "learner1"))[:2] == (303, "/account")
    assert (await form_login(client, "instructor"))[:2] == (303, "/instructor")
    assert (await form_login(client, "auditor"))[:2] == (303, "/instructor")
    target = f"/tests/{seed.test_id}"
    assert (await form_login(client, "learner2", next_url=target))[:2] == (303, target)
    # Only local targets: no open redirect.
    for evil in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        assert (await form_login(client, "learner2", next_url=evil))[:2] == (303, "/account")


async def test_login_form_shows_wrong_password_and_throttling(
    client: TestClient[Any, Any], seed: Seed
) -> None:
    status, _, html = await form_login(client, "learner3", "wrong")
    assert status == 401
    assert "Неверный логин или пароль." in html
    assert 'value="learner3"' in html  # the username is kept
    assert_well_formed(html)
    for _ in range(6):
        status, _, html = await form_login(client, "learner3", "wrong")
    assert status == 429
    assert "Слишком много неудачных попыток. Повторите через 15 мин." in html


async def test_pages_follow_the_role(client: TestClient[Any, Any], seed: Seed, login: Any) -> None:
    learner: Session = await login("learner1")
    pages = {
        "/account": 200,
        f"/tests/{seed.test_id}": 200,
        "/instructor": 403,
        f"/instructor/tests/{seed.test_id}/analysis": 403,
    }
    for path, expected in pages.items():
        status, html = await get_page(learner.client, path)
        assert status == expected, path
        assert_well_formed(html)
        if expected == 403:
            assert "Доступ запрещён" in html and "Ошибка 403" in html
    status, html = await get_page(learner.client, f"/tests/{seed.test_id}")
    assert f'data-test-id="{seed.test_id}"' in html
    assert "/static/vendor/socket.io.min.js?v=" in html

    instructor: Session = await login("instructor")
    for path in ("/instructor", f"/instructor/tests/{seed.test_id}/analysis", "/account"):
        status, html = await get_page(instructor.client, path)
        assert status == 200, path
        assert_well_formed(html)
    status, html = await get_page(instructor.client, "/instructor")
    assert 'id="import-form"' in html and 'id="create-form"' in html
    assert (await get_page(instructor.client, f"/tests/{seed.test_id}"))[0] == 403

    auditor: Session = await login("auditor")
    status, html = await get_page(auditor.client, "/instructor")
    assert status == 200
    assert 'id="import-form"' not in html  # auditors read, they do not import


async def test_page_carries_the_sessions_csrf_token_and_logout_needs_it(
    client: TestClient[Any, Any], seed: Seed, login: Any
) -> None:
    learner: Session = await login("learner1")
    status, html = await get_page(learner.client, "/account")
    markup = parse(html)
    assert markup.meta["csrf-token"] == learner.csrf
    assert markup.hidden_inputs["csrf_token"] == learner.csrf
    assert "Слушатель" in html  # the role in the header

    async with learner.client.post("/logout", data={}, allow_redirects=False) as response:
        assert response.status == 403  # no token: refused
    async with learner.client.post(
        "/logout", data={"csrf_token": learner.csrf}, allow_redirects=False
    ) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/login"
    status, _ = await get_page(learner.client, "/account")
    assert status == 303


async def test_language_switch(client: TestClient[Any, Any]) -> None:
    async with client.get("/lang/en?next=/login", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/login"
        assert response.cookies["examroom_lang"].value == "en"
    status, html = await get_page(client, "/login")
    assert status == 200
    assert '<html lang="en">' in html
    assert "<h1" in html and "Sign in" in html
    assert json.loads(I18N_BLOCK.findall(html)[0]) == {}  # English ids need no catalogue

    async with client.get("/lang/ru?next=//evil.example", allow_redirects=False) as response:
        assert response.headers["Location"] == "/"
    _, html = await get_page(client, "/login")
    assert '<html lang="ru">' in html

    # ?lang= wins for one page; the language links come back without it.
    _, html = await get_page(client, "/login?lang=en&next=/account")
    assert '<html lang="en">' in html
    assert "/lang/ru?next=/login%3Fnext%3D/account" in parse(html).links

    async with client.get("/lang/xx?next=/login", allow_redirects=False) as response:
        assert "examroom_lang" not in response.cookies  # unknown languages are ignored


async def test_html_error_page(client: TestClient[Any, Any]) -> None:
    status, html = await get_page(client, "/no/such/page")
    assert status == 404
    assert "Страница не найдена" in html
    assert_well_formed(html)


async def test_static_files_are_versioned_and_served(client: TestClient[Any, Any]) -> None:
    _, html = await get_page(client, "/login")
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', html)
    assert css is not None
    async with client.get(css.group(1)) as response:
        assert response.status == 200
        assert response.content_type == "text/css"
    for module in ("test", "account", "instructor", "analysis", "savequeue", "i18n", "api"):
        async with client.get(f"/static/js/{module}.js") as response:
            assert response.status == 200
            # Module scripts need a JavaScript MIME type.
            assert response.content_type in {"text/javascript", "application/javascript"}


def test_static_url_changes_with_the_content(tmp_path: Any) -> None:
    (tmp_path / "templates").mkdir()
    static = tmp_path / "static"
    static.mkdir()
    (static / "a.js").write_text("one")
    templates = Templates(tmp_path / "templates")
    first = templates.static_url("a.js")
    assert re.fullmatch(r"/static/a\.js\?v=[0-9a-f]{12}", first)
    (static / "a.js").write_text("two!")
    assert templates.static_url("a.js") != first
    assert templates.static_url("missing.js") == "/static/missing.js"


def test_scripts_never_insert_html() -> None:
    """User-supplied text goes in with textContent; no script assigns HTML."""
    offenders = []
    for path in sorted((REPO / "web" / "static" / "js").glob("*.js")):
        text = path.read_text("utf-8")
        for pattern in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            if pattern in text:
                offenders.append(f"{path.name}: {pattern}")
    assert not offenders, offenders


async def test_templates_render_for_every_page(client: TestClient[Any, Any]) -> None:
    """Every template named by server/pages.py exists (a missing one is a 500 at run time)."""
    env = _app(client)[TEMPLATES].env
    for name in ("base.html", "login.html", "error.html", "account.html", "test.html"):
        assert env.get_template(name) is not None
    for name in ("instructor.html", "analysis.html"):
        assert env.get_template(name) is not None


@pytest.mark.parametrize(
    ("target", "local"),
    [
        ("/account", True),
        ("/tests/1?x=1", True),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("https://evil.example/", False),
        ("", False),
        ("/ok\r\nSet-Cookie: x=1", False),
    ],
)
def test_redirect_targets_stay_on_this_site(target: str, local: bool) -> None:
    from server.pages import is_local_path

    assert is_local_path(target) is local
