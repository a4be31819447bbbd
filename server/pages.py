"""Server-rendered HTML pages (jinja2, autoescaped); the scripts talk to the JSON API."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from attestation.hearings import hearing_title, is_hearing_room
from proctor.access import check_access, quiz_id_of_room
from quiz.quizzes import get_quiz
from server.access import current_user
from server.appkeys import SESSIONS, SETTINGS, TEMPLATES, TRANSLATOR
from server.auth import log_in, log_out, set_session_cookie
from server.errors import AppError, Forbidden
from server.i18n import LANG_COOKIE, LANGUAGES, request_language
from server.middleware import SESSION_COOKIE
from server.users import AUTHOR_ROLES, Role

routes = web.RouteTableDef()


class Templates:
    """The jinja2 environment of ``web/templates`` with autoescaping on.

    ``static("js/test.js")`` in a template gives the file's URL with a content hash
    (``?v=…``), so a new release is never served from a stale browser cache.
    """

    def __init__(self, directory: Path, static_dir: Path | None = None) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        # ``tojson`` output is safe inside <script type="application/json">: jinja2
        # escapes <, >, & and ' as \u sequences, so "</script>" cannot end the block.
        self.env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
        self.static_dir = static_dir if static_dir is not None else directory.parent / "static"
        self._versions: dict[str, tuple[int, int, str]] = {}
        self.env.globals["static"] = self.static_url

    def static_url(self, filename: str) -> str:
        """``/static/<filename>?v=<hash of its content>`` (cached until the file changes)."""
        filename = filename.lstrip("/")
        path = self.static_dir / filename
        try:
            stat = path.stat()
        except OSError:
            return f"/static/{filename}"
        cached = self._versions.get(filename)
        if cached is None or cached[:2] != (stat.st_mtime_ns, stat.st_size):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            cached = (stat.st_mtime_ns, stat.st_size, digest)
            self._versions[filename] = cached
        return f"/static/{filename}?v={cached[2]}"


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
        catalogue=translator.catalogue(lang),
        path=request.path,
        here=_here(request),
        **context,
    )
    response = web.Response(text=html, status=status, content_type="text/html")
    # Pages carry the session's CSRF token and personal data: never cache them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _login_url(request: web.Request) -> str:
    return "/login?next=" + quote(request.path_qs, safe="/")


def _here(request: web.Request) -> str:
    """This page's path and query without ``lang`` (the language links come back here)."""
    url = request.rel_url
    if "lang" in url.query:
        url = url.with_query([(k, v) for k, v in url.query.items() if k != "lang"])
    return str(url)


def render_error(request: web.Request, error: AppError) -> web.StreamResponse:
    """The HTML error page (the JSON API gets JSON instead)."""
    if error.status == 401 and request.method == "GET":
        raise web.HTTPSeeOther(_login_url(request))
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


def is_local_path(target: str) -> bool:
    """True for a path on this site; ``//host`` and ``/\\host`` are other sites to browsers."""
    return (
        target.startswith("/")
        and target[1:2] not in ("/", "\\")
        and not any(ch in target for ch in "\r\n\t")
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
    if not is_local_path(target):
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
    if not is_local_path(back):
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
            raise web.HTTPSeeOther(_login_url(request))
        if roles is not None and user.role not in roles:
            return render(
                request,
                "error.html",
                status=403,
                error=Forbidden("this page is not for your role"),
            )
        return render(request, name, params=dict(request.match_info))

    return handler


routes.get("/account")(_page("account.html"))
routes.get("/tests/{test_id:\\d+}")(_page("test.html", frozenset({Role.LEARNER})))
routes.get("/instructor")(_page("instructor.html", AUTHOR_ROLES | {Role.AUDITOR}))
routes.get("/instructor/tests/{test_id:\\d+}/analysis")(
    _page("analysis.html", AUTHOR_ROLES | {Role.AUDITOR})
)


# ------------------------------------------------------------------ live video rooms

ROOM_STAFF = frozenset({Role.COMMISSION, Role.ADMIN, Role.SUPPORT})


async def _room_page(request: web.Request, name: str) -> web.StreamResponse:
    """A live room's page once the room's access check passes (404/403 pages otherwise)."""
    user = current_user(request)
    if user is None:
        raise web.HTTPSeeOther(_login_url(request))
    room_id = request.match_info["room"]
    async with request.app[SESSIONS]() as db:
        await check_access(db, user, room_id)
        if is_hearing_room(room_id):
            title = await hearing_title(db, room_id)
            params = {"room": room_id, "test_id": "", "test_title": title, "hearing": "1"}
            return render(request, name, params=params)
        quiz = await get_quiz(db, quiz_id_of_room(room_id))
    return render(
        request,
        name,
        params={"room": room_id, "test_id": str(quiz.id), "test_title": quiz.title, "hearing": ""},
    )


@routes.get("/rooms/{room}")
async def room_page(request: web.Request) -> web.StreamResponse:
    """The learner's room (camera check, publishing, the commission's video); staff go on
    to the commission's view of the same room."""
    user = current_user(request)
    hearing = is_hearing_room(request.match_info["room"])
    if user is not None and (user.role in ROOM_STAFF or (hearing and user.role != Role.LEARNER)):
        raise web.HTTPSeeOther(f"/rooms/{quote(request.match_info['room'], safe='')}/commission")
    return await _room_page(request, "room.html")


@routes.get("/rooms/{room}/commission")
async def commission_page(request: web.Request) -> web.StreamResponse:
    """The commission's view of a room: the learners' grid and the live view."""
    user = current_user(request)
    hearing = is_hearing_room(request.match_info["room"])
    if user is not None and (user.role == Role.LEARNER if hearing else user.role not in ROOM_STAFF):
        return render(
            request, "error.html", status=403, error=Forbidden("this page is for the commission")
        )
    return await _room_page(request, "commission.html")
