"""The rating web app: FastAPI routes over :class:`~core.feedback.store.Store`, plus the page itself.

Security: the page and API are served to 127.0.0.1 by default; with a ``token`` every request must
carry it (``Authorization: Bearer <token>``, or ``?token=`` to open the page). A rater claims a name
once and gets a key; judging and undoing need that key, so nobody undoes another rater's work.
Bodies are validated (ids, choices, lengths) and capped in size; the page renders all model text
with ``textContent``, so markup in a completion is shown, never run.
"""

from __future__ import annotations

import html
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from core.feedback.store import Store, StoreError

__all__ = ["create_app", "MAX_BODY", "MAX_CORRECTION"]

MAX_BODY = 16_384
MAX_CORRECTION = 4000
NAME = r"^[A-Za-z0-9_.@-]{1,40}$"
STATIC = Path(__file__).resolve().parent / "static"
PUBLIC = {"/app.js": "text/javascript", "/app.css": "text/css"}  # code, no data: served without the token


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(_Body):
    """Claim a rater name, or prove it with its key."""

    name: str = Field(pattern=NAME)
    key: str | None = Field(default=None, max_length=64)


class Judgement(_Body):
    """One judgement of one pair by one rater."""

    uid: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$", description="client-chosen id; retries are stored once")
    pair_id: int = Field(ge=1, le=2**53)
    rater: str = Field(pattern=NAME)
    choice: Literal["a", "b", "tie", "both_bad"]
    rating: int | None = Field(default=None, ge=1, le=5)
    correction: str | None = Field(default=None, max_length=MAX_CORRECTION)


class Undo(_Body):
    """Undo the rater's own last judgement."""

    rater: str = Field(pattern=NAME)


RaterKey = Annotated[str | None, Header(alias="X-Rater-Key", max_length=64)]
RaterName = Annotated[str, Query(pattern=NAME)]


def create_app(store: Store, token: str | None = None, title: str = "rlft feedback") -> FastAPI:
    """The app: ``/`` (page), ``/api/login``, ``/api/next``, ``/api/judgements``, ``/api/undo``, ``/api/progress``."""
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    page = (STATIC / "index.html").read_text(encoding="utf-8").replace("__TITLE__", html.escape(title))
    assets = {path: (STATIC / path[1:]).read_text(encoding="utf-8") for path in PUBLIC}

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > MAX_BODY):
            return JSONResponse({"detail": f"body larger than {MAX_BODY} bytes"}, status_code=413)
        if token is not None and request.url.path not in PUBLIC:
            auth = request.headers.get("authorization", "")
            given = auth[7:] if auth.startswith("Bearer ") else request.query_params.get("token", "")
            if not secrets.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"detail": "missing or wrong token"}, status_code=401)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = ("default-src 'none'; script-src 'self'; "
                                                       "style-src 'self'; connect-src 'self'; img-src 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page

    @app.get("/app.js")
    def script() -> Response:
        return Response(assets["/app.js"], media_type=PUBLIC["/app.js"])

    @app.get("/app.css")
    def style() -> Response:
        return Response(assets["/app.css"], media_type=PUBLIC["/app.css"])

    @app.post("/api/login")
    def login(body: Login) -> dict[str, Any]:
        return {"name": body.name, "key": store.login(body.name, body.key)}

    @app.get("/api/next")
    def next_pair(rater: RaterName, key: RaterKey = None) -> dict[str, Any]:
        store.check_rater(rater, key)
        pair = store.next_pair(rater)
        if pair is not None:  # raters see neither the automatic rewards nor the hidden columns
            pair = {k: pair[k] for k in ("id", "prompt_text", "completion_a", "completion_b")}
        return {"pair": pair, "progress": store.progress(rater)}

    @app.post("/api/judgements")
    def judge(body: Judgement, key: RaterKey = None) -> JSONResponse:
        store.check_rater(body.rater, key)
        jid, created = store.judge(body.uid, body.pair_id, body.rater, body.choice, body.rating,
                                   (body.correction or "").strip() or None)
        return JSONResponse({"id": jid, "created": created}, status_code=201 if created else 200)

    @app.post("/api/undo")
    def undo(body: Undo, key: RaterKey = None) -> dict[str, Any]:
        store.check_rater(body.rater, key)
        row = store.undo_last(body.rater)
        return {"undone": row["id"], "pair_id": row["pair_id"]}

    @app.get("/api/progress")
    def progress(rater: Annotated[str | None, Query(pattern=NAME)] = None) -> dict[str, Any]:
        return store.progress(rater)

    return app
