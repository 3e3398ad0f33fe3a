"""A/B variants of a touch step: which variant a lead gets, deterministically.

The choice hashes the lead id and the step id (SHA-256), so it is the same on every replay,
after continue-as-new and on every cycle or recycle into the same step: a lead never gets two
variants of one step. Weights are relative shares of leads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from nurture.cadence.model import Cadence
from nurture.cadence.steps import TOUCH_KINDS, StepBase, TouchParams, Variant, step_kind

#: 2**64: the hash is read as a 64-bit fraction of the weights' total.
_SCALE = float(1 << 64)


def bucket(lead_id: str, step_id: str) -> float:
    """A number in [0, 1) fixed by the lead and the step."""
    digest = hashlib.sha256(f"{lead_id}\x1f{step_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def choose(variants: Sequence[Variant], lead_id: str, step_id: str) -> Variant:
    """The lead's variant of a step (by weight; stable for the lead and the step)."""
    if not variants:
        raise ValueError("no variants to choose from")
    point = bucket(lead_id, step_id) * sum(v.weight for v in variants)
    for variant in variants:
        point -= variant.weight
        if point < 0:
            return variant
    return variants[-1]


def touch_params(step: StepBase) -> TouchParams | None:
    """A touch step's message parameters (None for calls and non-touch steps)."""
    params = getattr(step, step_kind(step), None) if step_kind(step) in TOUCH_KINDS else None
    return params if isinstance(params, TouchParams) else None


def step_variants(cadence: Cadence) -> list[tuple[str, list[Variant]]]:
    """Every step with variants, as (step id, variants), in cadence order."""
    found: list[tuple[str, list[Variant]]] = []
    for step in cadence.steps:
        params = touch_params(step)
        if params is not None and params.variants:
            found.append((str(step.id), list(params.variants)))
    return found


def shares(variants: Sequence[Variant]) -> dict[str, float]:
    """Each variant's share of leads (0..1)."""
    total = sum(v.weight for v in variants)
    return {v.id: v.weight / total for v in variants}
