"""The monthly cycle's screens: entering a unit's values of a month and submitting its
report (`/console/entry`), approving and returning (`/console/approval`).

Every change goes through the schema's own mutations as the viewer, so the page can do
nothing GraphQL would refuse: scope, locks, validation and conflicts are the server's.
A POST without the session's CSRF token is refused with 403 before anything is read.
A refused form answers with a 4xx status, so the request's transaction keeps nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from core.errors import ErrorCode, QuhuaError
from quhua.console import approval as approving
from quhua.console import entry as entering
from quhua.console.gateway import Gateway, Problem
from quhua.console.messages import language, translator
from quhua.console.pages import render
from quhua.console.period_choice import choose_month
from quhua.console.screen import (
    Begun,
    FormPages,
    begin,
    field_of,
    period_query,
    show,
    signed_in,
    status_of,
    to_home,
)
from quhua.console.session_cookie import ConsoleSession
from quhua.http_door import STATUS
from quhua.upload import import_upload
from resolvers.context import Context

# Changes listed under the form, newest first.
CHANGES_SHOWN = 20
WRITE_VALUES = "WRITE_VALUES"
# The upload form's fields: the file, csrf, reason, dry_run.
UPLOAD_FIELDS = 10
APPROVE = "APPROVE"
BAD_USER_INPUT = ErrorCode.BAD_USER_INPUT.value


class CyclePages(FormPages):
    async def entry(self, request: Request, context: Context) -> Response:
        """A unit's values of a month as a form (GET); what the viewer changed, stored
        (POST): all of it, or nothing and each refused input marked."""
        started = await self._start(request, context)
        if isinstance(started, Response):
            return started
        begun, form = started
        gateway, _, _, code, period, _ = begun
        month = entering.Month(period.year, period.part)
        shown = await entering.sheet(gateway, code, month)
        if form is None or shown.problem is not None:
            return self._entry_page(request, begun, shown)
        reason = field_of(form, "reason")
        t = translator(language(request))
        stored = await _store(gateway, code, shown, form, t=t, reason=reason)
        if stored is None:
            return self._entry_page(request, begun, shown, status=400, reason=reason)
        return self._entry_page(request, begun, stored)

    async def submit(self, request: Request, context: Context) -> Response:
        """Submit the unit's report of the month: its values go into review."""
        started = await self._start(request, context)
        if isinstance(started, Response):
            return started
        begun, form = started
        gateway, _, _, code, period, _ = begun
        if form is None:
            return to_home(request)
        month = entering.Month(period.year, period.part)
        submitted, refusals = await entering.submit_report(
            gateway, code, month, field_of(form, "comment")
        )
        shown = await entering.sheet(gateway, code, month)
        shown.submitted = submitted
        shown.violations = (submitted or {}).get("violations") or []
        shown.refusals = refusals
        return self._entry_page(request, begun, shown, status=400 if refusals else 200)

    async def upload(self, request: Request, context: Context) -> Response:
        """A values file (CSV, DHIS2 dataValueSets, ADX) imported as `POST /import/values`
        imports it, as the viewer; the entry screen then lists every refused line."""
        session = signed_in(request, context)
        if session is None:
            return to_home(request)
        # The import reads this same form (a request parses its body once).
        form = await request.form(max_files=1, max_fields=UPLOAD_FIELDS)
        try:
            if not self._cookies.csrf_ok(session, form.get("csrf")):
                return self._csrf_refused(request, session)
            return await self._imported(request, context, session)
        finally:
            await form.close()

    async def _imported(
        self, request: Request, context: Context, session: ConsoleSession
    ) -> Response:
        begun = await begin(request, context, session, self._cookies, choose=choose_month)
        if isinstance(begun, Response):
            return begun
        gateway, _, _, code, period, _ = begun
        imported, refusal = None, None
        try:
            imported = await import_upload(request, context)
        except QuhuaError as error:
            refusal = error
        # What the file wrote is read afresh: the loaders must not answer from before it.
        context.forget()
        shown = await entering.sheet(gateway, code, entering.Month(period.year, period.part))
        shown.imported = imported
        if refusal is not None:
            shown.refusals.append(refusal.message)
            status = STATUS.get(refusal.code, 400)
        else:
            status = 200 if imported is not None and imported.report.ok else 422
        return self._entry_page(request, begun, shown, status=status)

    async def approval(self, request: Request, context: Context) -> Response:
        """Where a unit's month stands and each unit one level down (GET); an approval,
        a withdrawal or a return done (POST), then the screen as it now stands."""
        started = await self._start(request, context)
        if isinstance(started, Response):
            return started
        begun, form = started
        gateway, viewer, page, code, period, _ = begun
        child = approving.child_level(code)
        if child is None:
            return render(
                request, "message.html", status=400, message="no_approval_here", detail=code, **page
            )
        month = entering.Month(period.year, period.part).period
        done, refusal = None, None
        if form is not None:
            done, refusal = await _approval_act(
                gateway, code, month, form, translator(language(request))
            )
        shown = await approving.board(gateway, code, child, month)
        shown.done, shown.refusal = done, refusal
        unit = shown.unit or {"code": code}
        return show(
            request,
            "approval.html",
            begun,
            shown.problem,
            status=None if refusal is None else status_of(refusal),
            board=shown,
            child_level=child,
            may_approve_here=viewer.may(APPROVE, unit),
            may_approve=lambda row: viewer.may(
                APPROVE, {"code": row["code"], "ancestors": [unit, *unit.get("ancestors", [])]}
            ),
            keep=period_query(period, None),
        )

    async def _start(
        self, request: Request, context: Context
    ) -> tuple[Begun, FormData | None] | Response:
        """The screen's start for a month, and the form of a POST whose CSRF token is the
        session's (None for a GET); or where the viewer is sent instead."""
        opened = await self._opened(request, context)
        if isinstance(opened, Response):
            return opened
        session, form = opened
        begun = await begin(request, context, session, self._cookies, choose=choose_month)
        if isinstance(begun, Response):
            return begun
        return begun, form

    def _entry_page(
        self,
        request: Request,
        begun: Begun,
        shown: entering.Sheet,
        *,
        status: int | None = None,
        reason: str = "",
    ) -> Response:
        _, viewer, _, _, period, _ = begun
        writable = shown.unit is not None and viewer.may(WRITE_VALUES, shown.unit)
        return show(
            request,
            "entry.html",
            begun,
            shown.problem,
            status=status,
            sheet=shown,
            writable=writable,
            reason=reason,
            keep=period_query(period, None),
            changes_shown=CHANGES_SHOWN,
        )


async def _store(
    gateway: Gateway,
    code: str,
    shown: entering.Sheet,
    form: FormData,
    *,
    t: Callable[..., str],
    reason: str,
) -> entering.Sheet | None:
    """The form's changes stored, and the sheet as it now stands; None when nothing was
    (the shown sheet then says why, at its inputs or above them)."""
    edits = entering.read_edits(shown, form, t)
    if shown.has_errors:
        return None
    if not edits:
        shown.saved = 0
        return shown
    if entering.corrects(edits) and not reason:
        shown.refusals.append(t("reason_required"))
        return None
    outcome = await entering.save(gateway, code, edits, reason or t("entry_reason"))
    if not outcome.ok:
        shown.refusals += outcome.refusals or [t("inputs_refused", count=outcome.refused)]
        return None
    fresh = await entering.sheet(gateway, code, shown.month)
    fresh.saved = outcome.changed
    fresh.violations = outcome.violations
    return fresh


async def _approval_act(
    gateway: Gateway, code: str, month: str, form: FormData, t: Callable[..., str]
) -> tuple[tuple[str, str] | None, Problem | None]:
    """The act the form asks for, done on its target (the unit, or one below it): what was
    done, or why not."""
    act = field_of(form, "act")
    target = field_of(form, "target") or code
    reason = field_of(form, "reason")
    if act not in approving.ACTS:
        return None, Problem(BAD_USER_INPUT, t("bad_act", act=act), ())
    if act in approving.REASON_NEEDED and not reason:
        return None, Problem(BAD_USER_INPUT, t("reason_required"), ())
    refusal = await approving.act(gateway, act, target, month, reason)
    return (None, refusal) if refusal is not None else ((act, target), None)
