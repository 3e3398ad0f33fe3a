"""The sales handoff pages: the handoffs waiting for sales, and one lead's handoff with its forms.

Pages (behind the desk login; the acting rep is the logged-in user):

* ``/handoffs`` waiting handoffs, the earliest SLA deadline first, with the time left;
  ``?owner=`` the lead's CRM owner, ``?mine=1`` the handoffs assigned to me (owner or manager)
* ``/handoffs/{lead}`` the lead, why it was promoted, its journey, and the Accept / Decline /
  opportunity outcome forms

Every POST carries the session's CSRF token and a request id (the update id: a double-submitted
form acts once). The workflow's validators decide; a refusal (stale handoff, already accepted,
someone else's lead) shows the page again with their message.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from nurture.cadence.sales import DeclineReason
from nurture.contracts import AcceptHandoff, CloseOpportunity, DeclineHandoff, HandoffView
from nurture.roster.reps import Rep
from nurture.sales.service import HandoffDetail, HandoffService, sla_left
from nurture.temporal.calls import LeadError
from nurture.web.auth import CSRF, requires
from nurture.web.csrf import FIELD
from nurture.web.pages import ClientDep, flash, redirect, render, templates

router = APIRouter(prefix="/handoffs")
OUTCOMES = ("opportunity", "won", "lost")


def get_handoffs(client: ClientDep) -> HandoffService:
    """Dependency: the handoff service (tests may override it)."""
    return HandoffService(client)


HandoffsDep = Annotated[HandoffService, Depends(get_handoffs)]
#: Who may open the handoffs: sales (owners) and managers.
SalesRep = Annotated[Rep, Depends(requires("sales", "manager"))]


def handoff_url(lead_id: str) -> str:
    """The page of a lead's handoff."""
    return f"/handoffs/{quote(lead_id, safe='')}"


templates.env.globals["handoff_url"] = handoff_url
templates.env.filters["sla_left"] = sla_left


def _error_page(request: Request, me: Rep, exc: LeadError) -> HTMLResponse:
    titles = {400: "Not understood", 404: "Unknown lead", 503: "Try again"}
    context = {"me": me, "title": titles.get(exc.status, "Not done"), "message": exc.message}
    return render(request, "handoffs/error.html", context, exc.status)


# ---------------------------------------------------------------- pages


@router.get("", response_class=HTMLResponse)
async def waiting(
    request: Request,
    me: SalesRep,
    service: HandoffsDep,
    owner: str | None = None,
    mine: bool = False,
) -> Response:
    """Handoffs waiting for accept or decline, the earliest SLA deadline first."""
    owner = (owner or "").strip() or None
    try:
        listed = await service.waiting(owner=owner, assignee=me.username if mine else None)
    except LeadError as exc:
        return _error_page(request, me, exc)
    context = {"me": me, "listed": listed, "owner": owner or "", "mine": mine}
    return render(request, "handoffs/list.html", context)


def _context(
    me: Rep,
    detail: HandoffDetail,
    *,
    form: Mapping[str, str] | None = None,
    errors: list[str] | None = None,
) -> dict[str, Any]:
    view = detail.handoff
    return {
        "me": me,
        "detail": detail,
        "lead": detail.lead,
        "journey": detail.journey,
        "handoff": view,
        "actions": detail.actions,
        "may_act": view is not None and (view.owner is None or me.username in _deciders(view)),
        "reasons": list(DeclineReason),
        "outcomes": [o for o in OUTCOMES if o in detail.actions],
        "form": dict(form or {}),
        "request_id": str(uuid.uuid4()),
        "errors": errors or [],
    }


def _deciders(view: HandoffView) -> tuple[str, ...]:
    return tuple(p for p in (view.owner, view.manager) if p)


@router.get("/{lead_id}", response_class=HTMLResponse)
async def handoff_page(
    request: Request, lead_id: str, me: SalesRep, service: HandoffsDep
) -> Response:
    """The lead, why it was promoted, its journey, and what sales can record now."""
    try:
        detail = await service.show(lead_id)
    except LeadError as exc:
        return _error_page(request, me, exc)
    return render(request, "handoffs/detail.html", _context(me, detail))


# ---------------------------------------------------------------- actions


async def _form(request: Request) -> dict[str, str]:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    form.pop(FIELD, None)
    return form


async def _act(
    request: Request,
    lead_id: str,
    me: Rep,
    service: HandoffsDep,
    act: Callable[[dict[str, str]], Awaitable[str]],
) -> Response:
    """Run one action from a form; on success back to the page with a message, else the page
    again with what was wrong (400: the form, 409: the workflow refused)."""
    form = await _form(request)
    try:
        done = await act(form)
    except ValidationError as exc:
        return await _again(request, lead_id, me, service, form, _messages(exc), 400)
    except LeadError as exc:
        if exc.status in (400, 404, 503):
            return _error_page(request, me, exc)
        return await _again(request, lead_id, me, service, form, [exc.message], exc.status)
    flash(request, done)
    return redirect(handoff_url(lead_id))


async def _again(
    request: Request,
    lead_id: str,
    me: Rep,
    service: HandoffService,
    form: Mapping[str, str],
    errors: list[str],
    status: int,
) -> Response:
    try:
        detail = await service.show(lead_id)
    except LeadError as exc:
        return _error_page(request, me, exc)
    context = _context(me, detail, form=form, errors=errors)
    return render(request, "handoffs/detail.html", context, status)


def _messages(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        out.append(f"{where}: {message}" if where else message)
    return out


@router.post("/{lead_id}/accept", response_class=HTMLResponse, dependencies=CSRF)
async def accept(request: Request, lead_id: str, me: SalesRep, service: HandoffsDep) -> Response:
    """Accept the handoff: the lead is the rep's now."""

    async def act(form: dict[str, str]) -> str:
        action = AcceptHandoff(handoff_id=form.get("handoff_id", ""), rep=me.username)
        await service.accept(lead_id, action, form.get("request_id"))
        return f"Lead {lead_id} accepted by {me.username}."

    return await _act(request, lead_id, me, service, act)


@router.post("/{lead_id}/decline", response_class=HTMLResponse, dependencies=CSRF)
async def decline(request: Request, lead_id: str, me: SalesRep, service: HandoffsDep) -> Response:
    """Decline with a reason: the lead goes back to nurture or is disqualified."""

    async def act(form: dict[str, str]) -> str:
        action = DeclineHandoff(
            handoff_id=form.get("handoff_id", ""),
            rep=me.username,
            reason=form.get("reason", ""),  # type: ignore[arg-type]  # a raw string: the model validates it
            text=form.get("text", "").strip(),
        )
        await service.decline(lead_id, action, form.get("request_id"))
        return f"Lead {lead_id} declined: {action.reason.label.lower()}."

    return await _act(request, lead_id, me, service, act)


@router.post("/{lead_id}/close", response_class=HTMLResponse, dependencies=CSRF)
async def close(request: Request, lead_id: str, me: SalesRep, service: HandoffsDep) -> Response:
    """Record the accepted lead's outcome: an opportunity, won or lost (with a reason)."""

    async def act(form: dict[str, str]) -> str:
        amount = form.get("amount", "").strip().replace(",", "")
        action = CloseOpportunity(
            handoff_id=form.get("handoff_id", ""),
            rep=me.username,
            outcome=form.get("outcome", ""),  # type: ignore[arg-type]  # a raw string: the model validates it
            reason=form.get("reason", "").strip(),
            amount=amount or None,  # type: ignore[arg-type]  # a raw string: the model validates it
        )
        await service.close(lead_id, action, form.get("request_id"))
        return f"Lead {lead_id}: {action.outcome} recorded."

    return await _act(request, lead_id, me, service, act)
