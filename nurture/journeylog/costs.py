"""Prices for the money report: the forecast's ``cadences/_costs.yaml`` (one file for both)."""

from __future__ import annotations

from pathlib import Path

from nurture.planning.costs import COSTS_FILE, Costs
from nurture.planning.costs import load_costs as load_costs_file

__all__ = ["Costs", "conversation_price", "load_costs", "per_channel", "talk_price"]


def per_channel(costs: Costs) -> dict[str, float]:
    """The price of one touch per channel (letters at the letter price); a call's is the rep
    time of a worked task, without the conversation (counted per connect)."""
    return {
        "email": costs.email,
        "sms": costs.sms,
        "voicemail": costs.voicemail,
        "direct_mail": costs.direct_mail.letter,
        "call": costs.call_task_minute * costs.call_task_minutes,
    }


def conversation_price(costs: Costs) -> float:
    """The extra rep time of a call where the lead was reached."""
    return costs.call_task_minute * costs.conversation_minutes


def talk_price(costs: Costs, talk_seconds: float) -> float:
    """The rep time of calls whose talk time was recorded."""
    return costs.call_task_minute * talk_seconds / 60


def load_costs(cadences_dir: Path) -> Costs:
    """The prices in the cadences folder's ``_costs.yaml`` (the defaults when there is none)."""
    return load_costs_file(cadences_dir / COSTS_FILE)
