"""Lead scoring: fit points from who the lead is, behaviour points from what the lead does.

The model lives in ``cadences/scoring.yaml`` (documented in ``cadences/README.md``) and is
snapshotted into each journey at enrolment, like the cadence. Everything here is pure: the engine
calls it with the journey's own record of scored events and the current time.

- **fit**: points when a lead field matches (title pattern, industry list, employee count...);
- **behaviour**: points per event kind, capped per period, decaying with a half-life;
- **hpi**: High Probability Indicators that promote at once (meeting booked, pricing page twice
  in a week, a reply marked with intent);
- **sales_ready**: the agreed definition (score and fit thresholds, decision-maker role), with
  hysteresis: after a lead is sent back, the score must first fall below ``rearm_below``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from nurture.cadence.steps import Delay
from nurture.events import EngagementEvent, EventKind
from nurture.lead import Lead
from nurture.yamlfiles import parse_model, read_file


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FitRule(_Model):
    """Points when a lead field matches: a pattern, a list of values, or a numeric range."""

    field: str = Field(description="A lead field (title, company...) or a CRM field (industry...)")
    matches: str | None = Field(None, description="Regular expression (search, case as written)")
    in_: list[str] | None = Field(None, alias="in", description="Any of these values (any case)")
    at_least: float | None = Field(None, description="Numeric field at least this")
    below: float | None = Field(None, description="Numeric field below this")
    points: int
    reason: str = Field("", description="Words for the journey (default: the rule)")

    @model_validator(mode="after")
    def _one_test(self) -> FitRule:
        tests = [self.matches, self.in_, self.at_least if self.below is None else self.below]
        if sum(t is not None for t in tests) == 0:
            raise ValueError("a fit rule needs 'matches', 'in', 'at_least' or 'below'")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"bad pattern {self.matches!r}: {exc}") from None
        return self

    def value(self, lead: Lead) -> str | None:
        """The lead's value for this rule's field."""
        direct = getattr(lead, self.field, None) if self.field in Lead.model_fields else None
        value = direct if isinstance(direct, str) and direct else lead.fields.get(self.field)
        return value or None

    def holds(self, lead: Lead) -> bool:
        """True when the lead matches."""
        value = self.value(lead)
        if value is None:
            return False
        if self.matches is not None and not re.search(self.matches, value):
            return False
        if self.in_ is not None and value.casefold() not in {v.casefold() for v in self.in_}:
            return False
        if self.at_least is not None or self.below is not None:
            number = _number(value)
            if number is None:
                return False
            if self.at_least is not None and number < self.at_least:
                return False
            if self.below is not None and number >= self.below:
                return False
        return True

    def describe(self) -> str:
        """Words for the journey."""
        return self.reason or f"{self.field} {self.matches or self.in_ or self.at_least}"


class BehaviourRule(_Model):
    """Points for one kind of event, at most ``cap`` within ``per``."""

    points: int
    cap: int | None = Field(None, ge=1, description="Most points from this kind within 'per'")
    per: Delay = Field(default_factory=lambda: Delay(days=7))


class Indicator(_Model):
    """A High Probability Indicator: this event (``count`` times ``within``) promotes at once."""

    name: str
    event: EventKind
    page: str | None = Field(None, description="web.visit only: the page path contains this")
    data: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="The event's data must carry these values"
    )
    count: int = Field(1, ge=1)
    within: Delay = Field(default_factory=lambda: Delay(days=7))

    def matches(self, kind: EventKind, data: dict[str, object]) -> bool:
        """True when an event counts toward this indicator."""
        if kind is not self.event:
            return False
        if self.page is not None and self.page not in str(data.get("page") or data.get("url")):
            return False
        return all(data.get(k) == v for k, v in self.data.items())


class SalesReadyRule(_Model):
    """The agreed definition of a sales-ready lead."""

    score_at_least: int = Field(ge=1)
    fit_at_least: int = 0
    role: str | None = Field(None, description="Title pattern of a decision maker (required)")
    rearm_below: int | None = Field(
        None, description="After a lead is sent back, its score must fall below this first"
    )


class ScoringModel(_Model):
    """A scoring file: fit, behaviour, decay, HPIs and the sales-ready rule."""

    version: int = Field(1, ge=1)
    fit: list[FitRule] = Field(default_factory=list)
    behaviour: dict[EventKind, BehaviourRule] = Field(default_factory=dict)
    half_life: Delay | None = Field(None, description="Behaviour points halve every so often")
    hpi: list[Indicator] = Field(default_factory=list)
    sales_ready: SalesReadyRule | None = None

    @cached_property
    def half_life_seconds(self) -> float | None:
        """The half-life in seconds (calendar time)."""
        return self.half_life.calendar_part().total_seconds() if self.half_life else None

    @cached_property
    def keep_for(self) -> timedelta:
        """How long a scored event can still count (windows, caps, eight half-lives)."""
        keep_for = timedelta(days=14)
        for rule in self.behaviour.values():
            keep_for = max(keep_for, rule.per.calendar_part())
        for indicator in self.hpi:
            keep_for = max(keep_for, indicator.within.calendar_part())
        if self.half_life_seconds:
            keep_for = max(keep_for, timedelta(seconds=self.half_life_seconds * 8))
        return keep_for


class ScoredEvent(BaseModel):
    """One scored event the journey remembers (for caps, decay and indicators)."""

    at: AwareDatetime
    kind: EventKind
    points: float = 0
    page: str | None = None
    hpi: list[str] = Field(default_factory=list)


class Scored(BaseModel):
    """What an event did to the score."""

    points: float
    reason: str
    indicator: str | None = None


def fit_score(model: ScoringModel, lead: Lead) -> tuple[int, list[str]]:
    """The fit points of a lead and the reasons."""
    points, reasons = 0, []
    for rule in model.fit:
        if rule.holds(lead):
            points += rule.points
            reasons.append(f"{rule.describe()} {rule.points:+d}")
    return points, reasons


def score_event(
    model: ScoringModel, history: list[ScoredEvent], event: EngagementEvent, now: datetime
) -> tuple[ScoredEvent, Scored]:
    """Score one event against the earlier ones (caps, indicators)."""
    kind = event.kind
    data: dict[str, object] = dict(event.data)
    page = str(data.get("page") or data.get("url") or "") or None
    if kind is EventKind.score_adjusted:
        points = float(event.points or 0)
        reason = f"manual adjustment {points:+.0f}" + (
            f" ({data['reason']})" if data.get("reason") else ""
        )
    else:
        rule = model.behaviour.get(kind)
        points = float(rule.points) if rule else 0.0
        reason = f"{kind.value} {points:+.0f}"
        if rule and rule.cap is not None:
            since = now - rule.per.calendar_part()
            earned = sum(e.points for e in history if e.kind is kind and e.at > since)
            allowed = max(0.0, rule.cap - earned)
            if points > allowed:
                reason = f"{kind.value} {allowed:+.0f} (cap {rule.cap} per {rule.per.describe()})"
                points = allowed
    hits: list[str] = []
    for indicator in model.hpi:
        if not indicator.matches(kind, data):
            continue
        since = now - indicator.within.calendar_part()
        earlier = sum(1 for e in history if indicator.name in e.hpi and e.at > since)
        hits.append(indicator.name)
        if earlier + 1 >= indicator.count:
            scored = ScoredEvent(at=now, kind=kind, points=points, page=page, hpi=hits)
            return scored, Scored(points=points, reason=reason, indicator=indicator.name)
    return ScoredEvent(at=now, kind=kind, points=points, page=page, hpi=hits), Scored(
        points=points, reason=reason
    )


def behaviour_score(model: ScoringModel, history: list[ScoredEvent], now: datetime) -> float:
    """The behaviour points at ``now``, each decayed by the half-life since it was earned."""
    half_life = model.half_life_seconds
    total = 0.0
    for e in history:
        if half_life:
            age = max(0.0, (now - e.at).total_seconds())
            total += e.points * 0.5 ** (age / half_life)
        else:
            total += e.points
    return total


def prune(model: ScoringModel, history: list[ScoredEvent], now: datetime) -> list[ScoredEvent]:
    """Forget events that no longer count for anything (decayed to nothing, past every window)."""
    since = now - model.keep_for
    if not model.half_life_seconds:
        return [e for e in history if e.points or e.hpi or e.at > since]
    return [e for e in history if e.at > since]


def is_decision_maker(model: ScoringModel, lead: Lead) -> bool:
    """True when the lead's title matches the sales-ready role (or no role is required)."""
    rule = model.sales_ready
    return rule is None or rule.role is None or bool(re.search(rule.role, lead.title or ""))


def load_scoring(path: Path) -> ScoringModel:
    """Load a scoring file; raises ``FileError`` naming file, line and field."""
    return parse_model(read_file(path), str(path), ScoringModel, "a scoring file")


def _number(value: str) -> float | None:
    text = value.strip().lower().replace(",", "").replace("$", "")
    scale = 1.0
    for suffix, factor in (("k", 1e3), ("m", 1e6), ("b", 1e9)):
        if text.endswith(suffix):
            text, scale = text[:-1], factor
            break
    try:
        return float(text) * scale
    except ValueError:
        return None
