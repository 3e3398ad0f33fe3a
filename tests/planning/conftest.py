"""The web app on a copy of the sample cadences, with a marketer, a rep and a manager."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nurture.app import create_app
from nurture.settings import ROOT, Settings
from nurture.store import Store
from tests.web.staff import add_staff


@pytest.fixture
def cadences(tmp_path: Path) -> Path:
    """A copy of the sample cadences (tests may break one)."""
    folder = tmp_path / "cadences"
    shutil.copytree(ROOT / "cadences", folder)
    return folder


@pytest.fixture
def planning_settings(tmp_path: Path, cadences: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, cadences_dir=cadences, templates_dir=ROOT / "templates", ui_port=8999
    )


@pytest.fixture
def planning_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'nurture.db'}", upgrade=True)
    add_staff(store, "mia.marketing", "marketing")
    add_staff(store, "rob.rep", "rep")
    add_staff(store, "meg.manager", "manager")
    return store


@pytest.fixture
def web(planning_settings: Settings, planning_store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(planning_settings, planning_store)) as client:
        yield client
