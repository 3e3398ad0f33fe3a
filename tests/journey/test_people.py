"""The engine where people act: scoring and promotion, the sales handoff and its SLA, the call
desk's actions, pause/resume, and the contact governor."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nurture.cadence.model import cadence_files, load_cadence
from nurture.cadence.sales import DeclineReason, Recycle, SalesRules, TeamRule
from nurture.cadence.scoring import ScoringModel
from nurture.cadence.steps import Delay
from nurture.calendar import CalendarSnapshot
from nurture.contracts import (
    AcceptHandoff,
    Assignment,
    ClaimTask,
    CloseOpportunity,
    CompleteTask,
    DeclineHandoff,
    Disposition,
    HandoffStatus,
    ReleaseTask,
    TouchResult,
)
from nurture.events import Channel, EventKind
from nurture.journey import engine
from nurture.journey.commands import Assign, Finish, LoadCadence, SendTouch, Wait
from nurture.journey.engine import ActionRefused
from nurture.journey.state import CallTask, Handoff, Journey, Phase, Stage
from nurture.leads.enrollment import Rules, load_rules
from nurture.planning import simulate
from nurture.settings import ROOT
from tests.conftest import make_lead
from tests.journey.test_engine import T0, cadence, event, texts

RULES = load_rules(ROOT / "cadences")
SAMPLES = {p.stem: load_cadence(p) for p in cadence_files(ROOT / "cadences")}
EMAILS = "".join(
    f"  - id: e{i}\n    email: {{template: e}}\n  - wait: {{days: 2}}\n" for i in range(6)
)


def start(steps: str = EMAILS, extra: str = "", rules: Rules = RULES, **lead: object) -> Journey:
    """A journey on a UTC, always-open cadence with the sample scoring and sales rules."""
    return engine.start(
        make_lead(**lead),
        cadence(steps, extra),
        CalendarSnapshot(timezone="UTC", country="US"),
        T0,
        rules.scoring,
        rules.sales,
    )


def handed_off(j: Journey, at: datetime = T0, owner: str = "ann.ae") -> Handoff:
    """Drive a just-promoted journey through its owner assignment."""
    command = engine.advance(j, at)
    assert isinstance(command, Assign)
    assert command.request.purpose == "handoff"
    engine.on_assigned(j, Assignment(rep=owner, manager="mia.mgr"), at)
    assert j.handoff is not None
    return j.handoff


# ---------------------------------------------------------------- scoring


def test_fit_is_scored_at_enrolment_with_reasons() -> None:
    j = start(title="VP Operations", fields={"employees": "2,500", "industry": "manufacturing"})
    assert j.fit == 20 + 15 + 10
    assert j.score == j.fit
    assert "decision-maker title +20" in texts(j, "score")[0]


def test_behaviour_is_capped_per_period_and_decays() -> None:
    j = start(title="Analyst")
    for minute in range(5):
        engine.on_event(j, event(EventKind.email_open, T0 + timedelta(minutes=minute)), T0)
    assert j.score == 6  # 5 opens x 2 points, capped at 6 a week
    assert len([t for t in texts(j, "score") if "email.open" in t]) == 3  # the rest earn 0
    engine.on_event(
        j, event(EventKind.email_click, T0 + timedelta(days=30)), T0 + timedelta(days=30)
    )
    assert j.score == round(6 * 0.5 + 6)  # the opens halved in 30 days, the click is fresh


def test_score_rule_promotes_a_decision_maker_only() -> None:
    ceo = start(title="Chief Executive Officer", fields={"employees": "5000"})
    analyst = start(title="Analyst", fields={"employees": "5000"})
    for j in (ceo, analyst):
        for i in range(3):
            engine.on_event(j, event(EventKind.form_submitted, T0 + timedelta(minutes=i)), T0)
    assert ceo.stage is Stage.sales_ready and ceo.phase is Phase.handoff
    assert ceo.handoff is not None and "score" in ceo.handoff.why
    assert analyst.stage is Stage.engaged and analyst.phase is not Phase.handoff


def test_pricing_page_twice_in_a_week_is_a_high_probability_indicator() -> None:
    j = start(title="Analyst")
    visit = {"page": "/pricing"}
    first = event(EventKind.web_visit, T0)
    engine.on_event(j, first.model_copy(update={"data": visit}), T0)
    assert j.phase is not Phase.handoff
    later = T0 + timedelta(days=3)
    engine.on_event(j, event(EventKind.web_visit, later).model_copy(update={"data": visit}), later)
    assert j.phase is Phase.handoff
    assert j.handoff is not None
    assert j.handoff.why == "High Probability Indicator: pricing page twice in a week"


def test_a_duplicated_event_is_counted_once() -> None:
    j = start(title="Analyst")
    click = event(EventKind.email_click, T0)
    assert engine.on_event(j, click, T0)
    assert not engine.on_event(j, click, T0)
    assert j.score == 6


def test_hysteresis_after_a_decline() -> None:
    """A declined lead is not promoted again by score until its score fell below rearm_below."""
    j = start(title="VP Sales", fields={"employees": "5000"}, segment="standard")
    for i in range(3):
        engine.on_event(j, event(EventKind.form_submitted, T0 + timedelta(minutes=i)), T0)
    h = handed_off(j)
    engine.decline_handoff(
        j, DeclineHandoff(handoff_id=h.id, rep="ann.ae", reason=DeclineReason.not_ready), T0
    )
    assert j.stage is Stage.recycled and not j.promotion_armed
    engine.on_event(j, event(EventKind.email_click, T0), T0)
    assert j.phase is Phase.cooling_down  # still high, but not re-armed
    late = T0 + timedelta(days=200)
    engine.on_event(j, event(EventKind.email_open, late), late)
    assert j.promotion_armed  # the behaviour points decayed below 45


# ---------------------------------------------------------------- handoff


def test_handoff_team_sla_and_escalation() -> None:
    j = start(segment="strategic", owner="")
    engine.on_event(j, event(EventKind.email_reply, T0), T0)
    assert j.stage is Stage.sales_ready
    command = engine.advance(j, T0)
    assert isinstance(command, Assign)
    assert (command.request.team, command.request.rule) == ("sales-strategic", "round_robin")
    h = handed_off(j)
    assert h.due == T0 + timedelta(hours=4)  # 4 business hours, always open
    assert isinstance(engine.advance(j, T0), Wait)
    breach = T0 + timedelta(hours=4)
    command = engine.advance(j, breach)
    assert isinstance(command, Assign)
    assert command.request.escalation and command.request.exclude == "ann.ae"
    engine.on_assigned(j, Assignment(rep="bob.ae", manager="mia.mgr"), breach)
    assert h.owner == "bob.ae" and h.escalations == 1
    assert any("SLA escalated to manager mia.mgr" in t for t in texts(j, "handoff"))
    engine.accept_handoff(j, AcceptHandoff(handoff_id=h.id, rep="bob.ae"), breach)
    assert j.stage is Stage.accepted


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (AcceptHandoff(handoff_id="L1:h9", rep="ann.ae"), "stale"),
        (AcceptHandoff(handoff_id="L1:h1", rep="eve"), "belongs to ann.ae"),
        (CloseOpportunity(handoff_id="L1:h1", rep="ann.ae", outcome="won"), "is waiting"),
    ],
)
def test_bad_sales_actions_are_refused(action: object, message: str) -> None:
    j = start()
    engine.on_event(j, event(EventKind.email_reply, T0), T0)
    handed_off(j)
    with pytest.raises(ActionRefused, match=message):
        engine.refuse_handoff_action(j, action)  # type: ignore[arg-type]


def test_repeated_accept_is_refused_and_won_ends_the_journey() -> None:
    j = start()
    engine.on_event(j, event(EventKind.email_reply, T0), T0)
    h = handed_off(j)
    engine.accept_handoff(j, AcceptHandoff(handoff_id=h.id, rep="ann.ae"), T0)
    with pytest.raises(ActionRefused, match="already accepted"):
        engine.accept_handoff(j, AcceptHandoff(handoff_id=h.id, rep="ann.ae"), T0)
    engine.close_opportunity(
        j, CloseOpportunity(handoff_id=h.id, rep="ann.ae", outcome="opportunity"), T0
    )
    engine.close_opportunity(
        j, CloseOpportunity(handoff_id=h.id, rep="ann.ae", outcome="lost", reason="price"), T0
    )
    assert engine.advance(j, T0) == Finish(outcome="sales_ready", stage=Stage.lost)


@pytest.mark.parametrize(
    ("reason", "stage", "phase"),
    [
        (DeclineReason.bad_fit, Stage.disqualified, Phase.done),
        (DeclineReason.wrong_person, Stage.recycled, Phase.cooling_down),
    ],
)
def test_decline_reason_decides_recycle_or_disqualify(
    reason: DeclineReason, stage: Stage, phase: Phase
) -> None:
    j = start()
    engine.on_event(j, event(EventKind.email_reply, T0), T0)
    h = handed_off(j)
    engine.decline_handoff(j, DeclineHandoff(handoff_id=h.id, rep="ann.ae", reason=reason), T0)
    assert (j.stage, j.phase) == (stage, phase)
    assert h.status is HandoffStatus.declined
    if phase is Phase.cooling_down:
        command = engine.advance(j, T0 + timedelta(days=8))
        assert command == LoadCadence(name="standard")


def test_sales_rules_pick_the_first_matching_team() -> None:
    rules = SalesRules(
        teams=[
            TeamRule(segment=["a"], team="t-a", sla=Delay(days=1)),
            TeamRule(team="t-any", sla=Delay(days=2)),
        ],
        not_interested=Recycle(recycle_to="x", cool_down=Delay(days=1)),
    )
    assert rules.team_for("a").team == "t-a"
    assert rules.team_for("b").team == "t-any"


# ---------------------------------------------------------------- the call desk

CALL = (
    "  - id: ring\n    call: {script: s, queue: q, assign: round_robin, due: {hours: 4}}\n" + EMAILS
)


def open_task(j: Journey) -> CallTask:
    """Send the call touch and assign the task to ann.rep."""
    command = engine.advance(j, T0)
    assert isinstance(command, SendTouch)
    engine.on_touch_result(j, TouchResult(), T0)
    command = engine.advance(j, T0)
    assert isinstance(command, Assign) and command.request.rule == "round_robin"
    engine.on_assigned(j, Assignment(rep=None), T0)  # nobody: the team queue
    assert j.call_task is not None
    return j.call_task


def complete(disposition: Disposition, **extra: object) -> CompleteTask:
    return CompleteTask(
        task_id="L1:t:v1:e1:c1:ring", rep="ann", disposition=disposition, event_id="x", **extra
    )


def test_claim_release_and_refusals() -> None:
    j = start(CALL)
    task = open_task(j)
    with pytest.raises(ActionRefused, match="claim it first"):
        engine.refuse_task_action(j, complete(Disposition.no_answer), T0)
    engine.claim_task(j, ClaimTask(task_id=task.touch_id, rep="ann"), T0)
    with pytest.raises(ActionRefused, match="already claimed by ann"):
        engine.refuse_task_action(j, ClaimTask(task_id=task.touch_id, rep="bob"), T0)
    with pytest.raises(ActionRefused, match="belongs to ann, not bob"):
        engine.refuse_task_action(j, ReleaseTask(task_id=task.touch_id, rep="bob"), T0)
    engine.release_task(j, ReleaseTask(task_id=task.touch_id, rep="ann"), T0)
    engine.claim_task(j, ClaimTask(task_id=task.touch_id, rep="bob"), T0)
    engine.complete_task(j, complete(Disposition.no_answer).model_copy(update={"rep": "bob"}), T0)
    with pytest.raises(ActionRefused, match="closed"):
        engine.refuse_task_action(j, complete(Disposition.no_answer), T0)


@pytest.mark.parametrize(
    ("disposition", "extra", "check"),
    [
        (Disposition.meeting_booked, {"meeting_at": T0 + timedelta(days=2)}, "sales_ready"),
        (Disposition.not_interested, {}, "recycled"),
        (Disposition.do_not_call, {}, "phone_stopped"),
        (Disposition.call_back_later, {"call_back_at": T0 + timedelta(days=3)}, "call_back"),
    ],
)
def test_each_disposition_drives_the_journey(
    disposition: Disposition, extra: dict[str, object], check: str
) -> None:
    j = start(CALL)
    task = open_task(j)
    engine.claim_task(j, ClaimTask(task_id=task.touch_id, rep="ann"), T0)
    engine.complete_task(j, complete(disposition, **extra), T0)
    if check == "sales_ready":
        assert j.stage is Stage.sales_ready and j.phase is Phase.handoff
    elif check == "recycled":
        assert j.stage is Stage.recycled and j.phase is Phase.cooling_down
    elif check == "phone_stopped":
        assert {Channel.call, Channel.voicemail} <= set(j.stopped)
    else:
        command = engine.advance(j, T0 + timedelta(days=3))
        assert isinstance(command, SendTouch)
        assert command.touch.touch_id.endswith(":ring#2")  # a new task at that time


def test_a_call_back_in_the_past_is_refused() -> None:
    j = start(CALL)
    task = open_task(j)
    engine.claim_task(j, ClaimTask(task_id=task.touch_id, rep="ann"), T0)
    with pytest.raises(ActionRefused, match="future"):
        engine.refuse_task_action(
            j, complete(Disposition.call_back_later, call_back_at=T0 - timedelta(hours=1)), T0
        )


# ---------------------------------------------------------------- pause and resume


def test_pause_holds_touches_and_resume_shifts_the_plan() -> None:
    j = start()
    assert isinstance(engine.advance(j, T0), SendTouch)
    engine.on_touch_result(j, TouchResult(), T0)
    wait = engine.advance(j, T0)
    assert isinstance(wait, Wait) and wait.until == T0 + timedelta(days=2)
    engine.pause(j, T0 + timedelta(days=10), "out of office", T0 + timedelta(hours=1))
    held = engine.advance(j, T0 + timedelta(days=3))
    assert isinstance(held, Wait) and "Paused (out of office)" in held.summary
    back = T0 + timedelta(days=10, hours=1)
    command = engine.advance(j, back)  # auto-resume: the 2-day wait had 47 h left
    assert isinstance(command, Wait)
    assert command.until == back + timedelta(hours=47)
    assert any("Resumed (auto-resume)" in t for t in texts(j, "pause"))


def test_a_handoff_cannot_be_paused() -> None:
    j = start()
    engine.on_event(j, event(EventKind.email_reply, T0), T0)
    with pytest.raises(ActionRefused, match="with sales"):
        engine.refuse_pause(j, None, T0)


# ---------------------------------------------------------------- the contact governor


def test_one_email_a_day_and_quiet_after_a_conversation() -> None:
    steps = "  - id: a\n    email: {template: e}\n  - id: b\n    email: {template: e}\n"
    extra = "limits: {max_per_channel_per_day: 1, quiet_after_conversation: {business_days: 2}}\n"
    sim = simulate.run(start(steps, extra), T0)
    assert [t.at for t in sim.touches] == [T0, T0.replace(hour=0) + timedelta(days=1)]
    assert any("1 email a day" in t for t in texts(sim.journey, "wait"))
    j = start(steps, extra)
    engine.on_event(j, event(EventKind.call_connected, T0), T0)
    command = engine.advance(j, T0)
    assert isinstance(command, Wait)
    assert command.until == T0 + timedelta(days=2)
    assert "quiet period after a conversation" in command.summary


def test_the_governor_counts_touches_across_a_recycle() -> None:
    """The weekly limit still counts the touches of the cadence the lead was recycled from."""
    j = start(extra="limits: {max_touches_per_week: 2}\n")
    for at in (T0, T0 + timedelta(days=2)):
        command = engine.advance(j, at)
        assert isinstance(command, SendTouch)
        engine.on_touch_result(j, TouchResult(), at)
        engine.advance(j, at)
    recycled = T0 + timedelta(days=3)
    engine.on_cadence_loaded(j, j.cadence, j.calendar, recycled)
    command = engine.advance(j, recycled)
    assert isinstance(command, Wait)
    assert command.until == T0 + timedelta(days=7)
    assert "weekly touch limit" in command.summary


def test_sample_rules_load() -> None:
    assert isinstance(RULES.scoring, ScoringModel)
    assert RULES.sales is not None
    assert {"long-term-nurture", "standard"} <= set(SAMPLES)
