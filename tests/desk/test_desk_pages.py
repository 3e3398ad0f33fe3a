"""The call desk pages over a fake desk service: login, CSRF, who may see and do what, the forms.

The real service against a real workflow is covered by test_desk_tasks.py and test_desk_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from nurture.app import create_app
from nurture.contracts import CallTaskView, CompleteTask
from nurture.desk.pages import get_desk
from nurture.desk.priority import bucket, priority
from nurture.desk.service import (
    LeadError,
    Load,
    TaskBoard,
    TaskDetail,
    TaskRow,
    TeamOverview,
    board,
)
from nurture.leads.enrollment import new_journey
from nurture.roster.reps import Rep, RepDirectory, Team
from nurture.settings import Settings
from nurture.store import Store
from nurture.web.auth import SESSION_COOKIE
from tests.conftest import fixture_cadence, make_lead
from tests.desk.conftest import loads

PASSWORD = "correct horse battery"
NOW = datetime.now(UTC)


class FakeDesk:
    """Tasks in memory, refusing like the workflow's validators do."""

    def __init__(self) -> None:
        self.tasks: dict[str, CallTaskView] = {}
        self.segments: dict[str, str] = {}
        self.completed: list[CompleteTask] = []
        self.updates: list[tuple[str, str, str]] = []

    def add(
        self, lead_id: str, assignee: str | None, queue: str = "sdr", due_in: float = 1
    ) -> None:
        self.tasks[lead_id] = CallTaskView(
            task_id=f"{lead_id}:mixed:v1:e1:c1:ring",
            lead_id=lead_id,
            step="ring",
            cadence="mixed",
            queue=queue,
            assignee=assignee,
            claimed_by=None,
            created_at=NOW - timedelta(hours=1),
            due=NOW + timedelta(hours=due_in),
        )
        self.segments[lead_id] = "strategic" if lead_id.startswith("S") else "standard"

    def _board(self, keep: object) -> TaskBoard:
        now = datetime.now(UTC)
        rows = [
            TaskRow(
                lead_id=t.lead_id,
                queue=t.queue,
                assignee=t.assignee,
                due=t.due,
                score=10,
                segment=self.segments[t.lead_id],
                stage="nurturing",
                priority=priority(10, self.segments[t.lead_id], t.due, now),
                bucket=bucket(t.due, now),
            )
            for t in self.tasks.values()
            if keep(t)  # type: ignore[operator]
        ]
        return board(rows)

    async def my_tasks(self, rep: str) -> TaskBoard:
        return self._board(lambda t: t.assignee == rep)

    async def queue_tasks(self, queue: str) -> TaskBoard:
        return self._board(lambda t: t.queue == queue and t.assignee is None)

    async def all_tasks(self) -> TaskBoard:
        return self._board(lambda t: True)

    async def overview(self, reps: list[str], queues: list[str]) -> TeamOverview:
        everything = await self.all_tasks()
        by_rep = loads(everything, lambda row: row.assignee)
        by_queue = loads(everything, lambda row: row.queue)
        for load in by_queue.values():
            load.unassigned = 0
        for row in everything.groups()[0][1] + everything.groups()[1][1] + everything.upcoming:
            if row.assignee is None:
                by_queue[row.queue].unassigned += 1
        return TeamOverview(
            total=everything.total,
            per_rep={r: by_rep.get(r, Load()) for r in reps},
            per_queue={q: by_queue.get(q, Load()) for q in queues},
            overdue=self._board(lambda t: t.due <= datetime.now(UTC)),
        )

    async def task(self, lead_id: str) -> CallTaskView:
        if lead_id not in self.tasks:
            raise LeadError(f"lead {lead_id} has no open call task (done, or moved on)", 404)
        return self.tasks[lead_id]

    async def detail(self, lead_id: str) -> TaskDetail:
        task = await self.task(lead_id)
        lead = make_lead(lead_id, timezone="America/Chicago", segment=self.segments[lead_id])
        journey = new_journey(lead, fixture_cadence("mixed"), NOW)
        return TaskDetail(task, journey, journey.timeline, f"SCRIPT for {lead_id}", NOW)

    async def claim(self, lead_id: str, task_id: str, rep: str) -> CallTaskView:
        self.updates.append(("claim", lead_id, rep))
        task = self.tasks[lead_id]
        if task.assignee is not None:
            raise LeadError(f"task {task_id} is already claimed by {task.assignee}", 409)
        self.tasks[lead_id] = task.model_copy(update={"assignee": rep, "claimed_by": rep})
        return self.tasks[lead_id]

    async def release(self, lead_id: str, task_id: str, rep: str) -> CallTaskView:
        self.updates.append(("release", lead_id, rep))
        self.tasks[lead_id] = self.tasks[lead_id].model_copy(update={"assignee": None})
        return self.tasks[lead_id]

    async def complete(self, lead_id: str, action: CompleteTask) -> CallTaskView:
        self.completed.append(action)
        return self.tasks.pop(lead_id)


@pytest.fixture
def desk() -> FakeDesk:
    fake = FakeDesk()
    fake.add("A1", "ann", due_in=-2)  # overdue
    fake.add("S2", "ann", due_in=3)  # strategic, due now
    fake.add("A3", "ann", due_in=48)  # upcoming
    fake.add("B1", "bob")
    fake.add("Q1", None)
    fake.add("X1", None, queue="sales")
    return fake


@pytest.fixture
def client(tmp_path: Path, desk: FakeDesk) -> Iterator[TestClient]:
    store = Store(f"sqlite:///{tmp_path / 'nurture.db'}", upgrade=True)
    settings = Settings(data_dir=tmp_path, session_secret="s" * 40)
    app = create_app(settings=settings, store=store)
    directory = RepDirectory(store, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    app.state.rep_directory = directory
    directory.save_team(Team(queue="sdr", manager="max"))
    for username, role in (("ann", "rep"), ("bob", "rep"), ("max", "manager")):
        directory.add(Rep(username=username, name=username.title(), queue="sdr", role=role))
        directory.set_password(username, PASSWORD)
    app.dependency_overrides[get_desk] = lambda: desk
    with TestClient(app) as c:
        yield c


def token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, username: str = "ann") -> str:
    """Log in; returns the CSRF token of the new session."""
    page = client.get("/desk/login").text
    r = client.post(
        "/desk/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return token(client.get("/desk").text)


# ---------------------------------------------------------------- login


def test_pages_need_a_login(client: TestClient) -> None:
    for url in ("/desk", "/desk/queue", "/desk/team", "/desk/tasks/A1", "/desk/next"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/desk/login?next=")


def test_a_wrong_password_is_refused(client: TestClient) -> None:
    page = client.get("/desk/login").text
    r = client.post(
        "/desk/login", data={"username": "ann", "password": "nope", "csrf_token": token(page)}
    )
    assert r.status_code == 401 and "Wrong username or password" in r.text


def test_login_goes_back_where_the_rep_was_going_and_rotates_the_token(
    client: TestClient,
) -> None:
    page = client.get("/desk/login?next=/desk/tasks/A1").text
    before = token(page)
    r = client.post(
        "/desk/login",
        data={
            "username": "ann",
            "password": PASSWORD,
            "csrf_token": before,
            "next": "/desk/tasks/A1",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/desk/tasks/A1"
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "httponly" in cookie.lower() and "samesite=lax" in cookie
    assert token(client.get("/desk").text) != before


def test_a_handoff_page_sends_the_rep_back_after_login(client: TestClient) -> None:
    r = client.get("/handoffs/L9", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/desk/login?next=%2Fhandoffs%2FL9"
    assert 'value="/handoffs/L9"' in client.get(r.headers["location"]).text


def test_login_never_redirects_off_the_desk(client: TestClient) -> None:
    page = client.get("/desk/login?next=//evil.example/x").text
    assert 'name="next" value=""' in page and "evil" not in page  # then: the person's home


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = login(client)
    r = client.post("/desk/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.headers["location"] == "/desk/login"
    assert client.get("/desk", follow_redirects=False).status_code == 303


def test_an_inactive_rep_is_logged_out(client: TestClient) -> None:
    login(client)
    client.app.state.rep_directory.update("ann", active=False)  # type: ignore[attr-defined]
    assert client.get("/desk", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------- CSRF


@pytest.mark.parametrize(
    "url", ["/desk/tasks/A1/complete", "/desk/tasks/Q1/claim", "/desk/tasks/A1/release"]
)
def test_forms_without_a_valid_token_are_refused(
    client: TestClient, desk: FakeDesk, url: str
) -> None:
    login(client)
    for data in ({}, {"csrf_token": "forged"}):
        r = client.post(url, data={**data, "disposition": "no_answer"})
        assert r.status_code == 403 and "security token is missing or out of date" in r.text
    assert not desk.completed and not desk.updates


def test_the_login_form_needs_its_token_too(client: TestClient) -> None:
    r = client.post("/desk/login", data={"username": "ann", "password": PASSWORD})
    assert r.status_code == 403


def test_a_token_in_the_header_is_accepted(client: TestClient) -> None:
    csrf = login(client)
    r = client.post("/desk/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert r.status_code == 303


# ---------------------------------------------------------------- lists


def test_my_tasks_are_grouped_and_sorted(client: TestClient) -> None:
    login(client)
    page = client.get("/desk").text
    groups = [m for m in ("Overdue", "Due now", "Upcoming") if f"<h2>{m}" in page]
    assert groups == ["Overdue", "Due now", "Upcoming"]
    leads = re.findall(r'href="/desk/tasks/([^"]+)"', page)
    assert leads == ["A1", "S2", "A3"]  # only mine
    assert client.get("/desk/next", follow_redirects=False).headers["location"] == "/desk/tasks/A1"


def test_the_team_queue_lists_unassigned_tasks_with_claim(client: TestClient) -> None:
    login(client)
    page = client.get("/desk/queue").text
    assert re.findall(r'href="/desk/tasks/([^"]+)"', page) == ["Q1"]
    assert 'action="/desk/tasks/Q1/claim"' in page
    assert client.get("/desk/queue?queue=sales").status_code == 403


def test_managers_see_every_queue_and_overdue_work_per_rep(client: TestClient) -> None:
    login(client, "ann")
    assert client.get("/desk/team").status_code == 403
    assert client.get("/desk?rep=bob").status_code == 403
    client.cookies.clear()
    login(client, "max")
    page = client.get("/desk/team").text
    assert "Team overview" in page and "(6 open tasks)" in page
    ann_row = re.search(r"Ann</a>.*?</tr>", page, flags=re.S)
    assert ann_row and re.findall(r"<td[^>]*>(\d+)</td>", ann_row.group(0))[:3] == ["3", "1", "1"]
    sdr_row = re.search(r'queue=sdr">sdr</a>.*?</tr>', page, flags=re.S)
    assert sdr_row and re.findall(r"<td[^>]*>(\d+)</td>", sdr_row.group(0)) == ["5", "1", "1", "3"]
    assert "1 open task sits in queues no team works" in page  # X1, queue sales
    assert 'href="/desk/tasks/X1"' in client.get("/desk/queue?queue=sales").text
    assert 'href="/desk/tasks/B1"' in client.get("/desk?rep=bob").text


# ---------------------------------------------------------------- one task


def test_the_task_page_has_what_the_call_needs(client: TestClient) -> None:
    login(client)
    page = client.get("/desk/tasks/A1").text
    assert "Ann Lee" in page and "Acme" in page and "VP Sales" in page
    assert 'href="tel:+14155550123"' in page
    assert "SCRIPT for A1" in page
    assert "America/Chicago" in page and "Their time" in page
    assert "Enrolled in mixed" in page  # the journey so far
    for value in ("meeting_booked", "call_back_later", "qualified", "do_not_call", "bad_number"):
        assert f'value="{value}"' in page
    for field in ("meeting_at", "call_back_at", "budget", "authority", "need", "timeframe"):
        assert f'name="{field}"' in page
    assert 'action="/desk/tasks/A1/release"' in page


def test_a_queue_task_can_be_opened_and_claimed_but_not_completed(
    client: TestClient, desk: FakeDesk
) -> None:
    csrf = login(client)
    page = client.get("/desk/tasks/Q1").text
    assert "Claim this task" in page and "Log the call" not in page
    r = client.post("/desk/tasks/Q1/complete", data={"csrf_token": csrf, "disposition": "x"})
    assert r.status_code == 403
    r = client.post("/desk/tasks/Q1/claim", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.headers["location"] == "/desk/tasks/Q1"
    assert desk.tasks["Q1"].assignee == "ann"
    assert "Lead Q1 is yours now" in client.get("/desk/tasks/Q1").text


def test_losing_a_claim_race_says_who_won(client: TestClient, desk: FakeDesk) -> None:
    csrf = login(client)
    desk.tasks["Q1"] = desk.tasks["Q1"].model_copy(update={"assignee": None})
    original = desk.claim

    async def slower(lead_id: str, task_id: str, rep: str) -> CallTaskView:
        await original(lead_id, task_id, "bob")  # bob got there first
        return await original(lead_id, task_id, rep)

    desk.claim = slower  # type: ignore[method-assign]
    r = client.post(
        "/desk/tasks/Q1/claim",
        data={"csrf_token": csrf, "back": "/desk/queue"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/desk/queue"
    assert "already claimed by bob" in client.get("/desk/queue").text


@pytest.mark.parametrize("lead", ["B1", "X1"])
def test_another_reps_task_is_forbidden_by_url(
    client: TestClient, desk: FakeDesk, lead: str
) -> None:
    csrf = login(client)
    r = client.get(f"/desk/tasks/{lead}")
    assert r.status_code == 403 and "Not your task" in r.text
    for action in ("complete", "release", "claim"):
        data = {"csrf_token": csrf, "disposition": "no_answer", "task_id": "x"}
        r = client.post(f"/desk/tasks/{lead}/{action}", data=data)
        if lead == "B1" and action == "claim":  # same queue: the workflow refuses it
            assert r.status_code == 200 and "already claimed by bob" in r.text
        else:
            assert r.status_code == 403, (lead, action)
    assert not desk.completed


def test_unknown_leads_are_not_found(client: TestClient) -> None:
    login(client)
    assert client.get("/desk/tasks/nope").status_code == 404
    assert client.get("/desk/tasks/bad%20id!").status_code == 404


def test_completing_goes_to_the_next_task(client: TestClient, desk: FakeDesk) -> None:
    csrf = login(client)
    data = {
        "csrf_token": csrf,
        "task_id": desk.tasks["A1"].task_id,
        "event_id": "E-1",
        "tz": "America/Chicago",
        "disposition": "meeting_booked",
        "meeting_at": "2026-12-01T10:30",
        "notes": "Demo with the CFO",
    }
    r = client.post("/desk/tasks/A1/complete", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk/tasks/S2"
    (action,) = desk.completed
    assert action.rep == "ann" and action.event_id == "E-1" and action.notes == "Demo with the CFO"
    assert action.meeting_at == datetime(2026, 12, 1, 10, 30, tzinfo=ZoneInfo("America/Chicago"))
    assert "Lead A1: meeting booked logged." in client.get("/desk/tasks/S2").text


def test_a_bad_form_comes_back_with_the_reps_input(client: TestClient, desk: FakeDesk) -> None:
    csrf = login(client)
    data = {"csrf_token": csrf, "disposition": "meeting_booked", "notes": "keep me"}
    r = client.post("/desk/tasks/A1/complete", data=data)
    assert r.status_code == 400
    assert "meeting booked needs the meeting time" in r.text and "keep me" in r.text
    assert 'value="meeting_booked" checked' in r.text
    assert not desk.completed


def test_a_refusal_from_the_workflow_is_shown_on_the_task(
    client: TestClient, desk: FakeDesk
) -> None:
    csrf = login(client)

    async def refuse(lead_id: str, action: CompleteTask) -> CallTaskView:
        raise LeadError("the call-back time must be in the future", 409)

    desk.complete = refuse  # type: ignore[method-assign]
    data = {"csrf_token": csrf, "disposition": "call_back_later", "call_back_at": "2020-01-01"}
    r = client.post("/desk/tasks/A1/complete", data=data)
    assert r.status_code == 409 and "the call-back time must be in the future" in r.text


def test_pages_are_not_cached_or_framed(client: TestClient) -> None:
    login(client)
    r = client.get("/desk/tasks/A1")
    assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"
