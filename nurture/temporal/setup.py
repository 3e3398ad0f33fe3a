"""A namespace ready for nurture: its custom search attributes, registered once, checked at start.

``nurture temporal setup`` registers what is missing (idempotent, and says what it changed); the
worker and the web app refuse to start while one is missing, since the call desk's lists and the
journeys' upserts depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

from nurture.temporal.calls import RPC_TIMEOUT
from nurture.temporal.visibility import ALL_KEYS

__all__ = ["MissingSearchAttributes", "SetupReport", "check_search_attributes", "setup"]


class MissingSearchAttributes(RuntimeError):
    """The namespace lacks search attributes nurture needs (or has them with another type)."""


@dataclass
class SetupReport:
    """What ``setup`` found and did."""

    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


def _wire_type(key: SearchAttributeKey[Any]) -> int:
    return int(IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{key.indexed_value_type.name}"))


def _type_name(value: int) -> str:
    return IndexedValueType.Name(value).removeprefix("INDEXED_VALUE_TYPE_").title()  # type: ignore[arg-type]  # proto enum Name() takes its int


async def _registered(client: Client) -> dict[str, int]:
    answer = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace), timeout=RPC_TIMEOUT
    )
    return {**answer.system_attributes, **answer.custom_attributes}


def _problems(registered: dict[str, int]) -> tuple[list[SearchAttributeKey[Any]], list[str]]:
    """(missing keys, keys present with another type as messages)."""
    missing: list[SearchAttributeKey[Any]] = []
    clashes: list[str] = []
    for key in ALL_KEYS:
        found = registered.get(key.name)
        if found is None:
            missing.append(key)
        elif found != _wire_type(key):
            clashes.append(
                f"{key.name} is {_type_name(found)}, nurture needs {_type_name(_wire_type(key))}"
            )
    return missing, clashes


async def setup(client: Client) -> SetupReport:
    """Register every missing search attribute in the client's namespace."""
    missing, clashes = _problems(await _registered(client))
    if clashes:
        raise MissingSearchAttributes(
            f"namespace {client.namespace}: " + "; ".join(clashes) + " (rename or remove them)"
        )
    report = SetupReport(present=[k.name for k in ALL_KEYS if k not in missing])
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={key.name: _wire_type(key) for key in missing},  # type: ignore[misc]  # proto map of enum values
            ),
            timeout=RPC_TIMEOUT,
        )
        report.added = [key.name for key in missing]
    return report


async def check_search_attributes(client: Client) -> None:
    """Raise :class:`MissingSearchAttributes` (saying what to run) unless all are registered."""
    missing, clashes = _problems(await _registered(client))
    if missing or clashes:
        names = ", ".join(k.name for k in missing)
        problems = ([f"missing {names}"] if missing else []) + clashes
        raise MissingSearchAttributes(
            f"namespace {client.namespace} on {client.service_client.config.target_host}: "
            + "; ".join(problems)
            + ": run `nurture temporal setup` (with the same NURTURE_TEMPORAL_* settings)"
        )
