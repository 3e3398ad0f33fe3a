"""Prices for the money report, from ``cadences/_costs.yaml``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from nurture.yamlfiles import parse_model

__all__ = ["COSTS_FILE", "Costs", "load_costs"]

COSTS_FILE = "_costs.yaml"


class Costs(BaseModel):
    """The price of each kind of touch, and of a rep's time on a call task."""

    model_config = ConfigDict(extra="forbid")

    email: float = Field(0.0, ge=0, description="per email sent")
    sms: float = Field(0.0, ge=0, description="per SMS sent")
    voicemail: float = Field(0.0, ge=0, description="per voicemail drop")
    letter: float = Field(0.0, ge=0, description="per letter or postcard")
    call_minute: float = Field(0.0, ge=0, description="a rep's cost per minute")
    call_minutes: float = Field(6.0, ge=0, description="minutes per worked call task")

    def per_channel(self) -> dict[str, float]:
        """The price of one touch per channel (a call's is the rep time of a worked task)."""
        return {
            "email": self.email,
            "sms": self.sms,
            "voicemail": self.voicemail,
            "direct_mail": self.letter,
            "call": self.call_minute * self.call_minutes,
        }


def load_costs(cadences_dir: Path) -> Costs:
    """The prices in the cadences folder's ``_costs.yaml`` (all zero when there is none)."""
    path = cadences_dir / COSTS_FILE
    if not path.exists():
        return Costs()
    return parse_model(path.read_text(), str(path), Costs, "costs")
