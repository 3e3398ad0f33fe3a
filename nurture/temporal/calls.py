"""Calling one lead's journey (``lead-<id>``): signals, queries and updates, with Temporal's errors
turned into :class:`LeadError` messages a person can act on.

The one gateway every domain uses (desk, sales, pause, inbox delivery, the CLI): an update's
validator refusal comes back as its own words; a lead whose workflow does not exist is an
"unknown lead" (404); a finished journey says so; an unreachable Temporal is a 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from nurture.journey.state import JourneyResult
from nurture.lead import LEAD_ID
from nurture.temporal.ids import workflow_id

RPC_TIMEOUT = timedelta(seconds=10)
T = TypeVar("T")


class LeadError(Exception):
    """A read or action on a lead that cannot be done: words for people, and an HTTP status."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class UnknownLead(LeadError):
    """No journey exists for the lead id."""

    def __init__(self, lead_id: str) -> None:
        super().__init__(
            f"unknown lead {lead_id!r}: there is no journey {workflow_id(lead_id)}", 404
        )
        self.lead_id = lead_id


class JourneyEnded(LeadError):
    """The journey exists but has finished, so it takes no more actions."""


def check_lead_id(lead_id: str) -> str:
    """``lead_id`` if it is a well-formed lead id, else :class:`UnknownLead`."""
    if not LEAD_ID.match(lead_id):
        raise UnknownLead(lead_id)
    return lead_id


def journey_handle(client: Client, lead_id: str) -> WorkflowHandle[Any, JourneyResult]:
    """A handle on a lead's journey (the latest run of its chain)."""
    return client.get_workflow_handle(workflow_id(lead_id), result_type=JourneyResult)


def handle(client: Client, lead_id: str) -> WorkflowHandle[Any, Any]:
    """The lead's journey handle (the id checked first)."""
    return journey_handle(client, check_lead_id(lead_id))


async def query(client: Client, lead_id: str, name: str, result_type: type[T] | Any) -> T:
    """Run a query on the lead's journey (finished journeys answer too)."""

    async def call(target: WorkflowHandle[Any, Any]) -> T:
        result: T = await target.query(name, result_type=result_type, rpc_timeout=RPC_TIMEOUT)
        return result

    return await call_lead(client, lead_id, f"read lead {lead_id}'s journey", call)


async def update(
    client: Client,
    lead_id: str,
    name: str,
    arg: Any,
    result_type: type[T] | Any,
    *,
    update_id: str | None = None,
) -> T:
    """Run an update; the same ``update_id`` twice gets the first answer back (not a 2nd action)."""

    async def call(target: WorkflowHandle[Any, Any]) -> T:
        result: T = await target.execute_update(
            name, arg, id=update_id, result_type=result_type, rpc_timeout=RPC_TIMEOUT
        )
        return result

    what = f"{name.replace('_', ' ')} for lead {lead_id}"
    return await call_lead(client, lead_id, what, call)


async def call_lead(
    client: Client,
    lead_id: str,
    what: str,
    call: Callable[[WorkflowHandle[Any, Any]], Awaitable[T]],
) -> T:
    """Run one call on the lead's journey, mapping Temporal's errors to :class:`LeadError`."""
    target = handle(client, lead_id)
    try:
        return await call(target)
    except WorkflowUpdateFailedError as exc:
        raise LeadError(failure_message(exc.cause), 409) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise LeadError(
            f"could not {what}: the workflow did not answer in time (is a worker running?)", 503
        ) from None
    except WorkflowQueryRejectedError:
        raise JourneyEnded(f"lead {lead_id}'s journey has ended") from None
    except WorkflowQueryFailedError as exc:
        raise LeadError(f"could not {what}: {exc}", 502) from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise await _not_found(target, lead_id) from None
        raise rpc_error(exc, what) from None


async def _not_found(target: WorkflowHandle[Any, Any], lead_id: str) -> LeadError:
    """An unknown lead, or (an update on) a journey that has finished."""
    try:
        described = await target.describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError:
        return UnknownLead(lead_id)
    status = described.status or WorkflowExecutionStatus.COMPLETED
    return JourneyEnded(f"lead {lead_id}'s journey has ended ({status.name.lower()})")


def failure_message(cause: BaseException) -> str:
    """The validator's or handler's own words (an ``ApplicationError`` message)."""
    message = getattr(cause, "message", None) or str(cause)
    return str(message)


def rpc_error(exc: RPCError, what: str) -> LeadError:
    """Any other Temporal RPC error, in words."""
    if exc.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE):
        return LeadError(f"could not {what}: Temporal did not answer in time (is it running?)", 503)
    if exc.status is RPCStatusCode.INVALID_ARGUMENT:
        return LeadError(f"could not {what}: {exc.message}", 400)
    return LeadError(f"could not {what}: {exc.message}", 502)
