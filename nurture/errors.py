"""The product's errors as one line for a person, and the exit code of a command that hit them.

Used by ``nurture.cli.main``: not found, unreachable and refused never print a traceback.
"""

from __future__ import annotations

from nurture.settings import get_settings

#: Exit codes: 1 = the request failed (not found, refused, bad input), 2 = setup needed first,
#: 3 = a service could not be reached, 130 = interrupted.
FAILED, SETUP, UNREACHABLE, INTERRUPTED = 1, 2, 3, 130


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _connect_reason(text: str) -> str:
    """The useful words of the SDK's connect error (it nests Rust transport errors)."""
    lowered = text.lower()
    for words in ("connection refused", "no answer within", "dns error", "timed out"):
        if words in lowered:
            return lowered[lowered.index(words) :].split('"')[0].split(")")[0].strip()
    return _first_line(text).removeprefix("Failed client connect: ")[:200]


def explain(exc: BaseException) -> tuple[list[str], int] | None:
    """The lines to print and the exit code for one of the product's errors (None: a bug)."""
    from sqlalchemy.exc import OperationalError
    from temporalio.service import RPCError, RPCStatusCode

    from nurture.schema import StoreBehind
    from nurture.settings import ProductionConfigError
    from nurture.temporal.calls import LeadError
    from nurture.temporal.codec import CodecKeyError
    from nurture.temporal.setup import MissingSearchAttributes
    from nurture.yamlfiles import FileError

    settings = get_settings()
    address = settings.temporal_address
    if isinstance(exc, CodecKeyError | ProductionConfigError):
        missing = settings.production_problems()  # every one, not just the first one hit
        if missing:
            return ["NURTURE_ENV=production needs:", *(f"  - {p}" for p in missing)], SETUP
        return [_first_line(exc)], SETUP
    if isinstance(exc, StoreBehind | MissingSearchAttributes):
        return [str(exc)], SETUP
    if isinstance(exc, LeadError):
        return [exc.message], UNREACHABLE if exc.status == 503 else FAILED
    if isinstance(exc, FileError):
        return [str(p) for p in exc.problems], FAILED
    if isinstance(exc, RPCError):
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return [f"cannot reach Temporal at {address}: {exc.message}"], UNREACHABLE
        if exc.status is RPCStatusCode.NOT_FOUND:
            return [f"not found: {exc.message}"], FAILED
        if exc.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNAUTHENTICATED):
            return [f"refused by Temporal at {address}: {exc.message}"], FAILED
        return [f"Temporal refused: {exc.message}"], FAILED
    if isinstance(exc, RuntimeError) and "client connect" in str(exc):
        return [f"cannot reach Temporal at {address} ({_connect_reason(str(exc))})"], UNREACHABLE
    if isinstance(exc, TimeoutError):
        return [f"no answer in time: {_first_line(exc) or 'timed out'}"], UNREACHABLE
    if isinstance(exc, OperationalError):
        return [f"cannot use the store: {_first_line(exc.orig)}"], UNREACHABLE
    if isinstance(exc, OSError) and exc.filename is not None:
        return [f"{exc.strerror or exc}: {exc.filename}"], FAILED
    if isinstance(exc, LookupError):
        return [_first_line(exc.args[0] if exc.args else exc)], FAILED
    if isinstance(exc, KeyboardInterrupt):
        return ["interrupted"], INTERRUPTED
    return None
