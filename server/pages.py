"""Server-rendered HTML pages (jinja2, autoescaped); the scripts talk to the JSON API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from server.access import current_user
from server.appkeys import SETTINGS, TEMPLATES, TRANSLATOR
from server.auth import log_in, log_out, set_session_cookie
from server.errors import AppError
from server.i18n import LANG_COOKIE, LANGUAGES, request_language
from server.middleware import SESSION_COOKIE
from server.users import AUTHOR_ROLES, Role

routes = web.RouteTableDef()


class Templates:
    """The jinja2 environment of ``web/templates`` with autoescaping on."""

    def __init__(self, directory: Path) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    """Render a template with the user, language, translations and CSRF token."""
    app = request.app
    lang = request_language(request)
    translator = app[TRANSLATOR]
    user = current_user(request)
    template = app[TEMPLATES].env.get_template(name)
    html = template.render(
        _=lambda message: translator.gettext(lang, message),
        lang=lang,
        languages=LANGUAGES,
        user=user,
        csrf_token=user.csrf_token if user else "",
        catalogue=json.dumps(translator.catalogue(lang), ensure_ascii=False),
        path=request.path,
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html")


def render_error(request: web.Request, error: AppError) -> web.StreamResponse:
    """The HTML error page (the JSON API gets JSON instead)."""
    if error.status == 401 and request.method == "GET":
        raise web.HTTPSeeOther(f"/login?next={request.path}")
    return render(request, "error.html", status=error.status, error=error)


def _home_for(role: str) -> str:
    if role == Role.LEARNER:
        return "/account"
    if role in AUTHOR_ROLES or role == Role.AUDITOR:
        return "/instructor"
    return "/account"


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    """Send people where they work."""
    user = current_user(request)
    raise web.HTTPSeeOther("/login" if user is None else _home_for(user.role))


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    """The login form."""
    return render(
        request, "login.html", error=None, username="", next=request.query.get("next", "")
    )


@routes.post("/login")
async def login_form(request: web.Request) -> web.StreamResponse:
    """Log in from the form; on success go to the personal account."""
    form = await request.post()
    username = str(form.get("username", ""))
    password = str(form.get("password", ""))
    target = str(form.get("next", ""))
    try:
        token, user = await log_in(request.app, username, password, request.remote or "")
    except AppError as exc:
        return render(
            request, "login.html", status=exc.status, error=exc, username=username, next=target
        )
    if not target.startswith("/") or target.startswith("//"):
        target = _home_for(user.role)
    response = web.HTTPSeeOther(target)
    set_session_cookie(response, request.app, token)
    raise response


@routes.post("/logout")
async def logout_form(request: web.Request) -> web.StreamResponse:
    """Log out from the page header's form."""
    user = current_user(request)
    if user is not None:
        await log_out(request.app, user)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.get("/lang/{code}")
async def switch_language(request: web.Request) -> web.StreamResponse:
    """Remember the chosen UI language."""
    code = request.match_info["code"]
    back = request.query.get("next", "/")
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    response = web.HTTPSeeOther(back)
    if code in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=request.app[SETTINGS].cookie_secure,
        )
    raise response


def _page(name: str, roles: frozenset[str] | None = None) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        user = current_user(request)
        if user is None:
            raise web.HTTPSeeOther(f"/login?next={request.path}")
        if roles is not None and user.role not in roles:
            return render(
                request,
                "error.html",
                status=403,
                error=AppError("this page is not for your role", code="forbidden"),
            )
        return render(request, name, params=dict(request.match_info))

    return handler


routes.get("/account")(_page("account.html"))
routes.get("/tests/{test_id:\\d+}")(_page("test.html", frozenset({Role.LEARNER})))
routes.get("/instructor")(_page("instructor.html", AUTHOR_ROLES | {Role.AUDITOR}))
routes.get("/instructor/tests/{test_id:\\d+}/analysis")(
    _page("analysis.html", AUTHOR_ROLES | {Role.AUDITOR})
)
