"""The worker's metrics port: the SDK's own Prometheus metrics (its runtime telemetry: workflow
and activity task latencies, failures, poll and cache figures) and the product's, on one port.

The SDK exports on a private loopback port; a collector re-serves its families through
prometheus-client's default registry, next to ``nurture_*`` (``nurture/metrics.py``).
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterable

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from nurture.settings import Settings

__all__ = ["SdkMetrics", "free_loopback_port", "worker_runtime"]


def free_loopback_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SdkMetrics(Collector):
    """Re-serves the SDK's Prometheus endpoint (read at each scrape)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def collect(self) -> Iterable[Metric]:
        """The SDK's metric families (none while it is unreachable)."""
        try:
            with urllib.request.urlopen(self.url, timeout=2) as answer:
                body = answer.read().decode()
        except OSError:
            return []
        return list(text_string_to_metric_families(body))


def worker_runtime(settings: Settings) -> Runtime | None:
    """The worker's Temporal runtime: with ``NURTURE_WORKER_METRICS_PORT``, its metrics port
    started; with JSON logs, the SDK core's log lines forwarded to Python logging (so they are
    JSON too). ``None`` (the SDK's default runtime) when neither is asked for."""
    json_logs = settings.log_format == "json"
    if settings.worker_metrics_port is None and not json_logs:
        return None
    logging_config = TelemetryConfig().logging
    if json_logs:
        logging_config = LoggingConfig(
            filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
            forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
        )
    if settings.worker_metrics_port is None:
        return Runtime(telemetry=TelemetryConfig(logging=logging_config))
    sdk = f"127.0.0.1:{free_loopback_port()}"
    runtime = Runtime(
        telemetry=TelemetryConfig(
            logging=logging_config,
            metrics=PrometheusConfig(
                bind_address=sdk,
                counters_total_suffix=True,
                unit_suffix=True,
                durations_as_seconds=True,
            ),
            metric_prefix="temporal_",
        )
    )
    REGISTRY.register(SdkMetrics(f"http://{sdk}/metrics"))
    start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    return runtime
