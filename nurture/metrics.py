"""The product's own Prometheus metrics (prometheus-client); the SDK's come from the worker's
Temporal runtime (``worker.py``).

Labels carry no personal data: channels, provider names, statuses, refusal reasons and team
queues only, never a lead, an address or a rep.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "CALL_TASKS_OPEN",
    "CALL_TASKS_OVERDUE",
    "HANDOFFS_WAITING",
    "INBOX_OLDEST_PENDING",
    "INBOX_PENDING",
    "PRODUCT_METRICS",
    "PROVIDER_ERRORS",
    "PROVIDER_SECONDS",
    "SDK_COUNTERS",
    "TOUCHES",
    "WEBHOOKS",
    "WEBHOOK_EVENTS",
]

# ------------------------------------------------------------ the worker (touch activities)
TOUCHES: Final = Counter(
    "nurture_touches",
    "Touches delivered, by channel, provider and outcome (sent, failed, skipped, unknown)",
    ["channel", "provider", "status"],
)
PROVIDER_SECONDS: Final = Histogram(
    "nurture_provider_request_seconds",
    "Time of one provider request (SendGrid, Twilio, Lob), whatever its outcome",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PROVIDER_ERRORS: Final = Counter(
    "nurture_provider_errors",
    "Provider requests that did not send: rejected, not_sent, credentials, unclear, error",
    ["provider", "kind"],
)

# ------------------------------------------------------------ the web app (events in)
WEBHOOKS: Final = Counter(
    "nurture_webhooks",
    "Webhook and /events requests, accepted or refused (reason: unauthorized, not_configured, "
    "malformed, too_large, unrecordable)",
    ["source", "outcome", "reason"],
)
WEBHOOK_EVENTS: Final = Counter(
    "nurture_webhook_events",
    "Events in accepted requests: new ones, and duplicates of events already in the inbox",
    ["source", "kind"],
)

# ------------------------------------------------------------ the web app, read at each scrape
INBOX_PENDING: Final = Gauge("nurture_inbox_pending", "Inbox events not yet delivered to a journey")
INBOX_OLDEST_PENDING: Final = Gauge(
    "nurture_inbox_oldest_pending_seconds", "Age of the oldest undelivered inbox event (0: none)"
)
CALL_TASKS_OPEN: Final = Gauge(
    "nurture_call_tasks_open", "Open call tasks, by team queue (roster queues)", ["queue"]
)
CALL_TASKS_OVERDUE: Final = Gauge(
    "nurture_call_tasks_overdue", "Open call tasks past their due time, by team queue", ["queue"]
)
HANDOFFS_WAITING: Final = Gauge(
    "nurture_handoffs_waiting", "Journeys handed to sales, waiting for accept or decline"
)

#: Counters the workflow itself records through the SDK's metric meter (so a replay never counts
#: twice); the worker's metrics port serves them with the SDK's own (``temporal_*``).
SDK_COUNTERS: Final = {
    "nurture_sla_breaches": "Handoffs escalated because sales did not answer within the SLA",
}

#: Every product metric name as Prometheus exposes it (counters get ``_total``).
PRODUCT_METRICS: Final = frozenset(
    {
        "nurture_touches_total",
        "nurture_provider_request_seconds_bucket",
        "nurture_provider_request_seconds_count",
        "nurture_provider_request_seconds_sum",
        "nurture_provider_errors_total",
        "nurture_webhooks_total",
        "nurture_webhook_events_total",
        "nurture_inbox_pending",
        "nurture_inbox_oldest_pending_seconds",
        "nurture_call_tasks_open",
        "nurture_call_tasks_overdue",
        "nurture_handoffs_waiting",
    }
)
