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

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nurture.cadence.steps import MIN_GAP, Delay, at_least
from nurture.yamlfiles import parse_model, read_file


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

    @model_validator(mode="after")
    def _a_real_pause(self) -> Recycle:
        at_least(self.cool_down, MIN_GAP, "the cool-down before a recycle")
        return self


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
    """Load a sales rules file; raises ``FileError`` naming file, line and field."""
    return parse_model(read_file(path), str(path), SalesRules, "a sales file")
