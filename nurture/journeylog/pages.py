"""The reports page for marketing and managers: ``/reports`` (a report with its chart, each
metric explained in one line) and ``/reports.csv`` (the same report as a safe CSV)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from nurture.journeylog.charts import bars
from nurture.journeylog.costs import load_costs
from nurture.journeylog.export import to_csv
from nurture.journeylog.reports import GROUPS, KINDS, Filters, Report, build
from nurture.web.auth import requires
from nurture.web.pages import SettingsDep, StoreDep, render

router = APIRouter(dependencies=[Depends(requires("marketing", "manager"))])

#: The column each report's chart draws.
CHART_COLUMN = {
    "funnel": "leads",
    "steps": "sent",
    "channels": "sent",
    "desk": "worked",
    "sales": "handoffs",
    "money": "per opportunity",
    "win-loss": "win %",
}
ABOUT = {
    "funnel": "How many leads reached each stage, the conversion between stages, how long it took.",
    "steps": "What each step sent, what came back, and which steps the sales-ready leads owe.",
    "channels": "The same per channel.",
    "desk": "The call desk per rep: tasks, work done, overdue work, connects and meetings.",
    "sales": "Sales' side of the SLA: handoffs per rep, met or breached, time to accept, declines.",
    "money": "What was spent; cost per sales-ready lead, accepted lead, opportunity and win.",
    "win-loss": "Deals won and lost, and why.",
}


def _day(value: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        return None


def _filters(params: dict[str, str]) -> Filters:
    version = params.get("version", "")
    group = params.get("group_by", "")
    return Filters(
        cadence=params.get("cadence") or None,
        version=int(version) if version.isdigit() else None,
        segment=params.get("segment") or None,
        start=_day(params.get("from", "")),
        end=_day(params.get("to", "")),
        group_by=group if group in GROUPS else None,
    )


def _chart(report: Report) -> Any:
    column = CHART_COLUMN[report.kind]
    if column not in report.columns:
        column = report.columns[-1]
    index = report.columns.index(column)
    rows = report.rows
    if report.kind == "funnel":
        first = rows[0][0] if rows else ""
        rows = [r for r in rows if r[0] == first]
        labels = [str(r[1]) for r in rows]
    else:
        labels = [str(r[0]) for r in rows]
    return bars(f"{report.title}: {column}", labels, [r[index] for r in rows])


def _report(kind: str, request: Request, store: StoreDep, settings: SettingsDep) -> Report:
    return build(
        kind, store, _filters(dict(request.query_params)), load_costs(settings.cadences_dir)
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request, store: StoreDep, settings: SettingsDep, kind: str = "funnel"
) -> Response:
    """One report with its chart and what each metric means."""
    kind = kind if kind in KINDS else "funnel"
    report = _report(kind, request, store, settings)
    context = {
        "kinds": KINDS,
        "groups": GROUPS,
        "kind": kind,
        "about": ABOUT[kind],
        "report": report,
        "chart": _chart(report) if report.rows else None,
        "params": dict(request.query_params),
        "query": request.url.query,
    }
    return render(request, "reports.html", context)


@router.get("/reports.csv")
def reports_csv(
    request: Request, store: StoreDep, settings: SettingsDep, kind: str = "funnel"
) -> Response:
    """The report as CSV (formula prefixes neutralised)."""
    kind = kind if kind in KINDS else "funnel"
    report = _report(kind, request, store, settings)
    return Response(
        to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )
