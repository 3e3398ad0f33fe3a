"""The sales handoff: what sales sends to a lead's workflow, and the view it gets back.

The workflow exposes the updates ``accept_handoff(AcceptHandoff)``,
``decline_handoff(DeclineHandoff)`` and ``close_opportunity(CloseOpportunity)``, each with a
validator (unknown, stale or repeated actions are refused before they reach history), and the
query ``handoff`` returning a :class:`HandoffView` (or ``None``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from nurture.cadence import Delay, parse_model


class DeclineReason(StrEnum):
    """Why sales sends a lead back."""

    not_ready = "not_ready"
    bad_fit = "bad_fit"
    no_budget = "no_budget"
    wrong_person = "wrong_person"
    duplicate = "duplicate"
    other = "other"

    @property
    def label(self) -> str:
        """Words for the decline form."""
        return self.value.replace("_", " ").capitalize()


class HandoffStatus(StrEnum):
    """Where a handoff stands."""

    waiting = "waiting"
    accepted = "accepted"
    declined = "declined"
    opportunity = "opportunity"
    won = "won"
    lost = "lost"


class AcceptHandoff(BaseModel):
    """Sales takes the lead."""

    handoff_id: str
    rep: str = Field(min_length=1, max_length=100)


class DeclineHandoff(BaseModel):
    """Sales sends the lead back, with a reason code (``other`` needs a text)."""

    handoff_id: str
    rep: str = Field(min_length=1, max_length=100)
    reason: DeclineReason
    text: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _other_explained(self) -> DeclineHandoff:
        if self.reason is DeclineReason.other and not self.text.strip():
            raise ValueError("reason 'other' needs a text saying why")
        return self


class CloseOpportunity(BaseModel):
    """An accepted lead's outcome: an opportunity opened, then won or lost (with a reason)."""

    handoff_id: str
    rep: str = Field(min_length=1, max_length=100)
    outcome: Literal["opportunity", "won", "lost"]
    reason: str = Field("", max_length=2000)
    amount: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _lost_explained(self) -> CloseOpportunity:
        if self.outcome == "lost" and not self.reason.strip():
            raise ValueError("a lost opportunity needs a reason (for win-loss analysis)")
        return self


class HandoffView(BaseModel):
    """A handoff as the sales page shows it."""

    handoff_id: str
    lead_id: str
    status: HandoffStatus
    owner: str | None
    team: str
    manager: str | None = None
    promoted_at: AwareDatetime
    due: AwareDatetime | None = Field(None, description="When the SLA runs out")
    why: str = Field(description="Why the lead was promoted (rule, score, events)")
    score: int
    escalations: int = 0
    decline_reason: DeclineReason | None = None
    decline_text: str = ""
    outcome_reason: str = ""


# ---------------------------------------------------------------- the sales rules file


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamRule(_Rule):
    """Which sales team gets a sales-ready lead, and how long it has to act."""

    segment: list[str] | None = Field(None, description="Segments this rule is for (none: all)")
    team: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    sla: Delay = Field(description="Time to accept or decline, e.g. {business_hours: 4}")
    assign: Literal["owner", "round_robin"] = Field(
        "owner", description="The lead's owner if it has one, else round-robin in the team"
    )


class Recycle(_Rule):
    """Send a declined (or not interested) lead back into a nurture cadence after a cool-down."""

    recycle_to: str
    cool_down: Delay


class SalesRules(_Rule):
    """The sales handoff agreement: teams and SLAs, escalation, and what a decline leads to."""

    version: int = Field(1, ge=1)
    teams: list[TeamRule] = Field(min_length=1)
    max_escalations: int = Field(2, ge=0, description="SLA breaches escalated before giving up")
    decline: dict[DeclineReason, Recycle | Literal["disqualify"]] = Field(default_factory=dict)
    not_interested: Recycle | None = Field(
        None, description="Where a lead who says 'not interested' on a call goes"
    )

    def team_for(self, segment: str) -> TeamRule:
        """The first team rule for a segment (a rule without segments matches every lead)."""
        for rule in self.teams:
            if rule.segment is None or segment in rule.segment:
                return rule
        return self.teams[-1]


DEFAULT_SALES = SalesRules(
    teams=[TeamRule(team="sales", sla=Delay(business_days=1))],
    decline={DeclineReason.bad_fit: "disqualify", DeclineReason.duplicate: "disqualify"},
)


def load_sales_rules(path: Path) -> SalesRules:
    """Load a sales rules file; raises ``CadenceError`` naming file, line and field."""
    return parse_model(path.read_text(encoding="utf-8"), str(path), SalesRules, "a sales file")
