"""Worker tuning: the NURTURE_WORKER_* settings size each channel's own pool and the journeys'
workflow options; unset options keep the SDK's defaults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.events import Channel
from nurture.settings import Settings
from nurture.temporal.tuning import WorkerTuning


def test_defaults_keep_the_sdk_options_and_give_every_channel_its_pool() -> None:
    tuning = WorkerTuning.from_settings(Settings())
    assert tuning.workflow_options() == {}
    assert tuning.threads(Channel.email) == tuning.threads(Channel.sms) == 8
    assert tuning.threads(Channel.call) == 2
    assert tuning.journey_threads == 4


def test_settings_size_the_worker() -> None:
    settings = Settings(
        worker_workflow_tasks=4,
        worker_sticky_timeout=20,
        worker_cached_workflows=500,
        worker_activity_threads=6,
        worker_channel_threads={"email": 16},
    )
    tuning = WorkerTuning.from_settings(settings)
    assert tuning.workflow_options() == {
        "max_concurrent_workflow_tasks": 4,
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=20),
        "max_cached_workflows": 500,
    }
    assert tuning.threads(Channel.email) == 16
    assert tuning.threads(Channel.direct_mail) == 6


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="no channel"):
        WorkerTuning.from_settings(Settings(worker_channel_threads={"fax": 2}))
