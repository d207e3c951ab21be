"""The administration screens: grants and the policy audit (`/console/admin`), a subject's
tokens (`/console/admin/tokens`), roles (`/console/admin/roles`). What they list and change
is what the schema lets the viewer list and change (units they administer); a refused act
says the schema's reason. A POST without the session's CSRF token is refused with 403
before anything is read."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from quhua.console import admin, roles_admin
from quhua.console import dashboard as screens
from quhua.console.gateway import Gateway
from quhua.console.messages import language, translator
from quhua.console.pages import render
from quhua.console.screen import FormPages, field_of
from quhua.console.session_cookie import ConsoleSession
from resolvers.context import Context

GRANT_FIELDS = ("subject", "role", "unit", "reason", "kind")


class AdminPages(FormPages):
    async def grants(self, request: Request, context: Context) -> Response:
        """Grants under a unit (or of a subject) and the policy audit (GET); a role granted
        or revoked (POST), then the listing as it now stands."""
        started = await self._started(request, context)
        if isinstance(started, Response):
            return started
        session, form, gateway, viewer = started
        params = request.query_params
        under = params.get("under", "").strip() or None
        subject = params.get("subject", "").strip() or None
        done, refusal = None, None
        if form is not None:
            done, refusal = await _grant_act(gateway, form, translator(language(request)))
        board = await admin.grants(gateway, under, subject)
        board.done, board.refusal = done, refusal
        return self._page(
            request,
            session,
            "admin_grants.html",
            gateway,
            viewer,
            board=board,
            under=under or "",
            subject=subject or "",
            status=400 if refusal else None,
        )

    async def tokens(self, request: Request, context: Context) -> Response:
        """A subject's tokens, the viewer's own by default (GET); one created (shown once)
        or revoked (POST)."""
        started = await self._started(request, context)
        if isinstance(started, Response):
            return started
        session, form, gateway, viewer = started
        subject = request.query_params.get("subject", "").strip() or viewer.name
        created, done, refusal = None, None, None
        if form is not None:
            created, done, refusal = await _token_act(
                gateway, form, subject, own=subject == viewer.name
            )
        board = await admin.tokens(gateway, subject)
        board.created, board.done, board.refusal = created, done, refusal
        return self._page(
            request,
            session,
            "admin_tokens.html",
            gateway,
            viewer,
            board=board,
            days=admin.TOKEN_DAYS,
            own=subject == viewer.name,
            status=400 if refusal else None,
        )

    async def roles(self, request: Request, context: Context) -> Response:
        """Every role the viewer can grant or hold, retired ones too (GET); one defined,
        changed or retired (POST)."""
        started = await self._started(request, context)
        if isinstance(started, Response):
            return started
        session, form, gateway, viewer = started
        done, refusal = None, None
        if form is not None:
            done, refusal = await roles_admin.act_on_role(
                gateway, form, translator(language(request))
            )
        board = await roles_admin.roles(gateway)
        board.done, board.refusal = done, refusal
        province = next((unit["code"] for unit in viewer.units if len(unit["code"]) == 2), "")
        return self._page(
            request,
            session,
            "admin_roles.html",
            gateway,
            viewer,
            board=board,
            actions=roles_admin.ACTIONS,
            province=province,
            status=400 if refusal else None,
        )

    async def _started(
        self, request: Request, context: Context
    ) -> tuple[ConsoleSession, FormData | None, Gateway, screens.Viewer] | Response:
        """The session, the POST's form (CSRF checked), a gateway and the viewer; or where
        the viewer is sent instead."""
        opened = await self._opened(request, context)
        if isinstance(opened, Response):
            return opened
        gateway = Gateway(context)
        return (*opened, gateway, await screens.viewer(gateway))

    def _page(
        self,
        request: Request,
        session: ConsoleSession,
        template: str,
        gateway: Gateway,
        viewer: screens.Viewer,
        *,
        status: int | None,
        **fields: object,
    ) -> Response:
        board = fields["board"]
        problem = getattr(board, "problem", None)
        response = render(
            request,
            template,
            status=status or (403 if problem is not None and problem.code == "FORBIDDEN" else 200),
            viewer_name=viewer.name,
            csrf=self._cookies.csrf_token(session),
            **fields,
        )
        response.headers["Server-Timing"] = gateway.server_timing()
        return response


async def _grant_act(
    gateway: Gateway, form: FormData, t: Callable[..., str]
) -> tuple[str | None, str | None]:
    """The grant or revocation the form asks for: what was done, or why not."""
    act = field_of(form, "act")
    fields = {name: field_of(form, name) for name in GRANT_FIELDS}
    if act not in admin.GRANT_ACTS:
        return None, t("bad_act", act=act)
    missing = [name for name in ("subject", "role", "unit", "reason") if not fields[name]]
    if missing:
        return None, t("fields_missing", fields=", ".join(t("field_" + m) for m in missing))
    refusal = await admin.act_on_grant(gateway, act, fields)
    if refusal is not None:
        return None, refusal
    return f"{t('done_' + act)}: {fields['subject']} · {fields['role']} · {fields['unit']}", None


async def _token_act(
    gateway: Gateway, form: FormData, subject: str, *, own: bool
) -> tuple[dict[str, object] | None, str | None, str | None]:
    """A token created (for the viewer, or for the subject) or revoked."""
    act = field_of(form, "act")
    if act == "revoke":
        refusal = await admin.revoke_token(gateway, field_of(form, "id"), field_of(form, "reason"))
        return None, None if refusal else field_of(form, "id"), refusal
    if act != "create":
        return None, None, f"act {act!r}: create or revoke"
    days_text = field_of(form, "days")
    days = int(days_text) if days_text.isdigit() else None
    created, refusal = await admin.create_token(
        gateway, None if own else subject, days, field_of(form, "label")
    )
    return created, None, refusal
