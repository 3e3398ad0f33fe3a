"""Configuration from the environment (prefix ``NURTURE_``), with embedded defaults for a laptop."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything nurture reads from its environment; each field is ``NURTURE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_", env_file=".env", extra="ignore")

    temporal_address: str = Field("localhost:7233", description="Temporal frontend host:port")
    temporal_namespace: str = "default"
    task_queue: str = Field("nurture", description="Task queue of lead workflows and activities")
    data_dir: Path = Field(ROOT / "data", description="Local state: dev-server and outbox files")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default: a SQLite file in data_dir"
    )
    cadences_dir: Path = ROOT / "cadences"
    templates_dir: Path = ROOT / "templates"
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    ui_port: int = 8233

    @property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL (the SQLite outbox file unless ``database_url`` is set)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'nurture.db'}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
