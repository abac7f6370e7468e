"""Console sign-in: `/auth/login`, `/auth/logout`, `/auth/session`, `/auth/password` (docs/sessions.md).
API tokens (Authorization: Bearer) keep working beside sessions for the CLI and scripts."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from podium_shared.audit.auth_failures import audit_auth_failure
from podium_shared.auth import sessions
from podium_shared.errors import Forbidden, RateLimited, Unauthenticated
from podium_shared.users import accounts
from podium_shared.users.schemas import Me
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from podium_api import browser
from podium_api.deps import ConsoleSessionDep, MetaDep, PrincipalDep, SessionDep, SettingsDep, get_factory
from podium_api.openapi import errors
from podium_api.ratelimit import RateLimiter

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=256)


class SessionOut(BaseModel):
    user: Me
    # Send it back as the X-CSRF-Token header on every POST/PUT/PATCH/DELETE made with the cookie.
    csrf_token: str


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: SecretStr = Field(min_length=1, max_length=256)
    new_password: SecretStr = Field(min_length=10, max_length=256)


def _take(request: Request, limiter_name: str, subject: str) -> None:
    limiter: RateLimiter = getattr(request.app.state, limiter_name)
    decision = limiter.take(subject)
    if not decision.allowed:
        raise RateLimited(
            "too many sign-in attempts; wait and try again",
            details={"retry_after_seconds": round(decision.retry_after_seconds, 3)},
        )


@router.post(
    "/login",
    responses=errors(401, 403, 422, 429),
    summary="Sign in with username and password; sets the podium_session cookie",
)
def login(
    *,
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    meta: MetaDep,
    cfg: SettingsDep,
) -> SessionOut:
    # A login form posted from another site would sign the victim into the attacker's account.
    if "origin" in request.headers and not browser.origin_allowed(request.headers, request.url.scheme, cfg):
        raise Forbidden("this request did not come from the console's origin", code="csrf_failed")
    _take(request, "login_address_limiter", f"login:addr:{meta.client_addr}")
    _take(request, "login_user_limiter", f"login:user:{body.username.lower()}")
    try:
        done = accounts.login(
            session, meta, body.username, body.password.get_secret_value(), browser.lifetimes(cfg)
        )
    except accounts.LoginRefused as exc:
        # An unknown name is not written to the log as typed: people paste passwords into it.
        audit_auth_failure(
            get_factory(request),
            request.app.state.redis,
            username=exc.username or "anonymous",
            reason=exc.reason,
            path=request.url.path,
            interval_seconds=cfg.auth_failure_audit_interval_seconds,
            request_id=meta.request_id,
            client_addr=meta.client_addr,
        )
        raise
    browser.set_session_cookie(response, request, cfg, done.cookie_value)
    user = done.user
    me = Me(
        username=user.username,
        role=user.role,
        namespaces=user.namespaces,
        must_change_password=user.must_change_password,
    )
    return SessionOut(user=me, csrf_token=browser.csrf_token(cfg, done.cookie_value))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403))
def logout(request: Request, session: SessionDep, meta: MetaDep, cfg: SettingsDep) -> Response:
    """Ends this browser's session. Without a live session it only clears the cookie."""
    cookie = request.cookies.get(sessions.COOKIE_NAME, "")
    if cookie:
        try:
            sessions.resolve(session, cookie, browser.lifetimes(cfg))
        except Unauthenticated:
            cookie = ""
    if cookie:
        browser.check_csrf(request, cfg, cookie)
        accounts.logout(session, meta, cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    browser.clear_session_cookie(response, request, cfg)
    return response


@router.get("/session", responses=errors(401, 403, 429))
def current_session(request: Request, session: SessionDep, cfg: SettingsDep) -> SessionOut:
    """The signed-in user and the CSRF token of this browser's session; 401 without one."""
    cookie = request.cookies.get(sessions.COOKIE_NAME, "")
    signed_in = sessions.resolve(session, cookie, browser.lifetimes(cfg))
    p = signed_in.principal
    me = Me(
        username=p.username,
        role=p.role,
        namespaces=p.namespaces,
        must_change_password=signed_in.must_change_password,
    )
    return SessionOut(user=me, csrf_token=browser.csrf_token(cfg, cookie))


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404, 422, 429))
def change_password(
    *,
    body: PasswordChange,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    signed_in: ConsoleSessionDep,
    meta: MetaDep,
) -> Response:
    """Change your own password; your other sessions end, this one stays."""
    _take(request, "login_user_limiter", f"login:user:{principal.username}")
    accounts.change_own_password(
        session,
        principal,
        meta,
        body.current_password.get_secret_value(),
        body.new_password.get_secret_value(),
        current_session=signed_in,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
