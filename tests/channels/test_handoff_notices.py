"""Handoff notices from the ``assign`` activity: SendGrid (real SDK against Prism and the stub)
when it is configured, else the outbox; sent at most once, never at the cost of the handoff."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.desk import DeskActivities
from nurture.channels.notices import CATEGORY, Notice, build_notice_mail
from nurture.contracts import Assignment, AssignRequest, HandoffStatus, HandoffView
from nurture.roster.reps import Rep, RepDirectory
from nurture.settings import Settings
from nurture.store import Store, TouchRecord
from tests.channels.stub import ProviderStub

SENDER = "handoffs@example.com"
DUE = datetime(2030, 1, 7, 15, 0, tzinfo=UTC)
MAIL_SEND = "/v3/mail/send"


@pytest.fixture(autouse=True)
def sales_team(store: Store) -> RepDirectory:
    """Reps ann and bob (round robin, with addresses) and their manager mia (no address)."""
    reps = RepDirectory(store)
    for username, role, email in (
        ("ann.ae", "rep", "ann@example.com"),
        ("bob.ae", "rep", "bob@example.com"),
        ("mia.mgr", "manager", ""),
    ):
        reps.add(
            Rep(
                username=username,
                name=username.split(".")[0].title(),
                email=email,
                queue="sales",
                role=role,  # type: ignore[arg-type]
                timezone="UTC",
                hours="mon-sun 00:00-24:00",
                manager=None if role == "manager" else "mia.mgr",
            )
        )
    return reps


def handoff_request(key: str = "L7:h1:a0", *, escalation: bool = False) -> AssignRequest:
    """The ``assign`` input of lead L7's sales handoff (round robin in team sales)."""
    view = HandoffView(
        handoff_id="L7:h1",
        lead_id="L7",
        status=HandoffStatus.waiting,
        owner=None,
        team="sales",
        promoted_at=DUE - timedelta(hours=4),
        due=DUE,
        why="email.reply <intent>",
        score=46,
    )
    return AssignRequest(
        key=key,
        lead_id="L7",
        team="sales",
        rule="round_robin",
        purpose="handoff",
        notice=view,
        escalation=escalation,
    )


def desk(store: Store, host: str | None, *, timeout: float = 5) -> DeskActivities:
    """The desk activities as the worker builds them: SendGrid at ``host``, else the outbox."""
    if host is None:
        return DeskActivities(store, Settings())
    settings = Settings(
        sendgrid_api_key="SG.test-key",
        sendgrid_host=host,
        notice_from=SENDER,
        notice_from_name="Nurture handoffs",
    )
    activities = DeskActivities(store, settings)
    assert activities.mailer is not None
    activities.mailer.timeout = timeout
    return activities


def assign(activities: DeskActivities, request: AssignRequest) -> Assignment:
    """One attempt of the ``assign`` activity."""
    result: Assignment = ActivityEnvironment().run(activities.assign, request)
    return result


def notice_row(store: Store, username: str, key: str = "L7:h1:a0") -> TouchRecord:
    row = store.get_touch(f"{key}:notice:{username}")
    assert row is not None
    return row


def test_notice_mail_carries_identity_content_and_no_tracking() -> None:
    notice = Notice(
        notice_id="L7:h1:a0:notice:ann.ae",
        lead_id="L7",
        handoff_id="L7:h1",
        username="ann.ae",
        email="ann@example.com",
        name="Ann",
        subject="Sales-ready lead L7",
        text="Lead L7 is sales-ready.",
        html="<p>Lead L7 is sales-ready.</p>",
    )
    body = build_notice_mail(notice, SENDER, "Nurture handoffs").get()
    assert body["from"] == {"email": SENDER, "name": "Nurture handoffs"}
    assert body["subject"] == "Sales-ready lead L7"
    [person] = body["personalizations"]
    assert person["to"] == [{"email": "ann@example.com", "name": "Ann"}]
    # Not touch_id / lead_id: the event webhook would count the rep's opens as the lead's.
    assert person["custom_args"] == {"notice_id": notice.notice_id, "notice_lead_id": "L7"}
    assert body["content"] == [
        {"type": "text/plain", "value": notice.text},
        {"type": "text/html", "value": notice.html},
    ]
    assert body["categories"] == [CATEGORY] == ["handoff-notice"]
    assert body["tracking_settings"] == {
        "click_tracking": {"enable": False, "enable_text": False},
        "open_tracking": {"enable": False},
    }
    assert "asm" not in body
    anonymous = build_notice_mail(notice, SENDER).get()
    assert anonymous["from"] == {"email": SENDER}


def test_the_notice_request_passes_the_spec(store: Store, sendgrid_mock: str) -> None:
    assignment = assign(desk(store, sendgrid_mock), handoff_request())
    assert assignment.rep == "ann.ae"
    row = notice_row(store, "ann.ae")
    assert (row.status, row.provider, row.channel, row.error) == (
        "sent",
        "sendgrid",
        "notice",
        None,
    )
    assert row.recipient == "ann@example.com" and row.sent_at is not None
    assert row.subject == "Sales-ready lead L7: accept or decline by Mon 07 Jan 15:00 UTC"
    assert row.body_text is not None and "http://127.0.0.1:8000/handoffs/L7" in row.body_text
    assert row.body_html is not None and "email.reply &lt;intent&gt;" in row.body_html


def test_a_refused_notice_is_failed_and_logged_but_the_handoff_goes_on(
    store: Store, sendgrid_mock: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The spec's 403 (e.g. an unverified NURTURE_NOTICE_FROM): recorded, not retried."""
    activities = desk(store, sendgrid_mock)
    assert activities.mailer is not None
    activities.mailer.api.client.request_headers["Prefer"] = "code=403"
    with caplog.at_level(logging.ERROR, logger="nurture.channels"):
        assignment = assign(activities, handoff_request())
    assert assignment.rep == "ann.ae"
    row = notice_row(store, "ann.ae")
    assert row.status == "failed" and (row.error or "").startswith("SendGrid 403")
    assert any("L7:h1:a0:notice:ann.ae" in r.getMessage() for r in caplog.records)
    del activities.mailer.api.client.request_headers["Prefer"]
    assert assign(activities, handoff_request()) == assignment  # the retry leaves it failed
    assert notice_row(store, "ann.ae").status == "failed"


def test_a_retry_after_success_sends_nothing_more(store: Store, stub: ProviderStub) -> None:
    activities = desk(store, stub.url)
    first = assign(activities, handoff_request())
    [request] = stub.creates(MAIL_SEND)
    person = request.body["personalizations"][0]
    assert person["custom_args"]["notice_id"] == "L7:h1:a0:notice:ann.ae"
    assert request.body["from"] == {"email": SENDER, "name": "Nurture handoffs"}
    assert assign(activities, handoff_request()) == first
    assert len(stub.creates(MAIL_SEND)) == 1
    row = notice_row(store, "ann.ae")
    assert (row.status, row.provider_id) == ("sent", "sg-1")


@pytest.mark.parametrize("status", [500, 502])
def test_an_unclear_5xx_is_not_resent_and_ends_unknown(
    store: Store, stub: ProviderStub, status: int
) -> None:
    stub.fail(status, times=1)
    activities = desk(store, stub.url)
    with pytest.raises(ApplicationError) as caught:
        assign(activities, handoff_request())
    assert caught.value.type == "ProviderOutcomeUnclear" and not caught.value.non_retryable
    row = notice_row(store, "ann.ae")
    assert row.status == "sending" and f"SendGrid {status}" in (row.error or "")
    retried = assign(activities, handoff_request())  # Temporal's retry: same rep, no resend
    assert retried.rep == "ann.ae"
    assert len(stub.creates(MAIL_SEND)) == 1
    row = notice_row(store, "ann.ae")
    assert row.status == "unknown"
    assert (row.error or "").startswith(f"delivery unknown (SendGrid {status}")
    assert "not resent" in (row.error or "")


def test_429_is_retried_with_the_same_rep_and_then_sent_once(
    store: Store, stub: ProviderStub
) -> None:
    stub.fail(429, times=1, **{"Retry-After": "7"})
    activities = desk(store, stub.url)
    with pytest.raises(ApplicationError) as caught:
        assign(activities, handoff_request())
    assert caught.value.type == "ProviderNotSent" and not caught.value.non_retryable
    assert caught.value.next_retry_delay == timedelta(seconds=7)
    assert notice_row(store, "ann.ae").status == "pending"
    retried = assign(activities, handoff_request())
    assert retried.rep == "ann.ae"  # the assignment was kept: the retry picks nobody new
    row = notice_row(store, "ann.ae")
    assert (row.status, row.provider_id, row.error) == ("sent", "sg-1", None)
    assert assign(activities, handoff_request()) == retried  # settled: no third request
    requests = stub.creates(MAIL_SEND)
    assert len(requests) == 2  # one refused, one accepted
    assert {r.body["personalizations"][0]["to"][0]["email"] for r in requests} == {
        "ann@example.com"
    }
    other = assign(activities, handoff_request("L8:h1:a0"))  # a new handoff: the next rep
    assert other.rep == "bob.ae"


def test_an_escalation_emails_the_new_owner_and_skips_a_manager_without_address(
    store: Store, stub: ProviderStub, caplog: pytest.LogCaptureFixture
) -> None:
    activities = desk(store, stub.url)
    request = handoff_request("L7:h1:a1", escalation=True)
    with caplog.at_level(logging.WARNING, logger="nurture.channels"):
        assignment = assign(activities, request)
    assert (assignment.rep, assignment.manager) == ("ann.ae", "mia.mgr")
    [sent] = stub.creates(MAIL_SEND)
    assert sent.body["personalizations"][0]["to"] == [{"email": "ann@example.com", "name": "Ann"}]
    assert sent.body["subject"] == "Escalated: sales-ready lead L7 waits for an answer"
    assert store.get_touch("L7:h1:a1:notice:mia.mgr") is None
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "mia.mgr has no email address" in warning.getMessage()


def test_without_sendgrid_notices_stay_in_the_outbox(store: Store) -> None:
    activities = desk(store, None)
    assert activities.mailer is None
    request = handoff_request("L7:h1:a1", escalation=True)
    first = assign(activities, request)
    assert assign(activities, request) == first
    rows = sorted(
        (r.recipient, r.provider, r.status, r.channel, r.body_html)
        for r in store.list_touches(lead_id="L7")
    )
    assert rows == [
        ("ann@example.com", "outbox", "sent", "notice", None),
        ("mia.mgr", "outbox", "sent", "notice", None),  # no address: the username
    ]


def test_sendgrid_without_a_notice_sender_cannot_build_the_desk(store: Store) -> None:
    settings = Settings(sendgrid_api_key="SG.test-key")
    with pytest.raises(ValueError, match="NURTURE_NOTICE_FROM is missing"):
        DeskActivities(store, settings)
