"""Configuration from the environment (prefix ``NURTURE_``), with embedded defaults for a laptop."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class ProductionConfigError(ValueError):
    """A production deployment lacks required settings; the message lists them all."""


class Settings(BaseSettings):
    """Everything nurture reads from its environment; each field is ``NURTURE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = Field(
        "development",
        description="production: the session secret and codec keys must be set (checked at start)",
    )
    temporal_address: str = Field("localhost:7233", description="Temporal frontend host:port")
    temporal_namespace: str = "default"
    # Any Temporal cluster: self-hosted with mutual TLS, or Temporal Cloud (mTLS or an API key).
    temporal_api_key: SecretStr | None = Field(
        None, description="Temporal Cloud API key (sent as a bearer token; turns TLS on)"
    )
    temporal_tls: bool | None = Field(
        None, description="TLS to the frontend (default: on when a client cert or API key is set)"
    )
    temporal_tls_cert: Path | None = Field(None, description="Client certificate (PEM) for mTLS")
    temporal_tls_key: Path | None = Field(None, description="Client private key (PEM) for mTLS")
    temporal_tls_ca: Path | None = Field(
        None, description="CA certificate (PEM) of the server, when not a public CA"
    )
    temporal_tls_server_name: str | None = Field(
        None, description="Server name to verify, when it differs from the address's host"
    )
    task_queue: str = Field("nurture", description="Task queue of lead workflows and activities")
    data_dir: Path = Field(ROOT / "data", description="Local state: dev-server and outbox files")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default: a SQLite file in data_dir"
    )
    db_upgrade: bool = Field(
        False,
        description="Migrate the store to this release's schema when the worker or web app "
        "starts (else a store that is behind refuses to open: run `nurture db upgrade`)",
    )
    db_pool_size: int = Field(5, ge=1, description="Store connections kept open (PostgreSQL)")
    db_max_overflow: int = Field(
        10, ge=0, description="Extra store connections allowed above the pool size at peaks"
    )
    db_pool_timeout: float = Field(
        30, gt=0, description="Seconds to wait for a free store connection before failing"
    )
    db_pool_recycle: int = Field(
        1800, description="Reopen store connections older than this many seconds (-1: never)"
    )
    cadences_dir: Path = ROOT / "cadences"
    templates_dir: Path = ROOT / "templates"
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    ui_port: int = 8233
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public base URL of the web app (provider callbacks and webhooks point here)",
    )

    # Operations: metrics, health, logs.
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token of the web app's /metrics (unset: /metrics answers 404)",
    )
    worker_metrics_port: int | None = Field(
        None,
        description="Port of the worker's Prometheus endpoint (SDK + product metrics; unset: off)",
    )
    worker_metrics_host: str = Field("0.0.0.0", description="Bind address of that endpoint")
    # Worker tuning (docs: README "Worker tuning"); unset: the SDK's default.
    worker_workflow_tasks: int | None = Field(
        None, ge=1, description="Workflow tasks a worker runs at once"
    )
    worker_sticky_timeout: float | None = Field(
        None, gt=0, description="Seconds a journey's task waits for its worker's cache"
    )
    worker_cached_workflows: int | None = Field(
        None, ge=0, description="Journeys kept in a worker's cache"
    )
    worker_activity_threads: int = Field(
        8, ge=1, description="Threads of each channel's send pool (and the journeys' pool)"
    )
    worker_channel_threads: dict[str, int] = Field(
        default_factory=dict, description='Per-channel pool sizes, JSON: {"email": 16}'
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="json: one JSON object per log line (no personal data in fields)"
    )

    # Providers: a channel goes through its provider when the provider's key is set, else the
    # local outbox.
    sendgrid_api_key: SecretStr | None = Field(None, description="SendGrid API key (email)")
    sendgrid_host: str = Field("https://api.sendgrid.com", description="SendGrid API host")
    sendgrid_unsubscribe_group: int | None = Field(None, description="SendGrid ASM group id")
    sendgrid_webhook_public_key: str | None = Field(
        None, description="SendGrid Event Webhook verification key (base64 DER or PEM)"
    )
    sendgrid_rate: float | None = Field(None, description="Max SendGrid sends per second")
    sendgrid_send_delay: float | None = Field(
        None,
        ge=11,
        description="Minutes: email as a cancellable scheduled send this long after its "
        "planned time (≥ 11; unset: sent at once, at most once)",
    )
    sendgrid_email_activity: bool = Field(
        False, description="The account has Email Activity: unclear sends are looked up"
    )
    sendgrid_activity_delay: float = Field(
        180, ge=0, description="Seconds Email Activity may take to list a message"
    )
    email_attempts_retention_days: float = Field(
        30,
        ge=0,
        description="Days an email touch's attempts (table email_attempts) are kept after it "
        "settled; 0 keeps them forever",
    )
    twilio_account_sid: str | None = Field(None, description="Twilio account SID (SMS, voicemail)")
    twilio_auth_token: SecretStr | None = Field(
        None, description="Twilio auth token (also verifies)"
    )
    twilio_api_base: str | None = Field(None, description="Twilio API base URL (tests: a mock)")
    twilio_from: str | None = Field(None, description="Default caller id / SMS sender, E.164")
    twilio_rate: float | None = Field(
        None, description="Max Twilio requests per second, on each of the SMS and voicemail queues"
    )
    lob_api_key: SecretStr | None = Field(None, description="Lob API key (direct mail)")
    lob_host: str = Field("https://api.lob.com/v1", description="Lob API host")
    lob_from_address: str | None = Field(
        None, description="Lob address id (adr_...) of the return address letters need"
    )
    lob_webhook_secret: SecretStr | None = Field(None, description="Lob webhook signing secret")
    lob_rate: float | None = Field(None, description="Max Lob requests per second")

    crm_webhook_url: str | None = Field(
        None, description="URL that gets each sales handoff as a POST of JSON (e.g. your CRM)"
    )
    notice_from: str | None = Field(
        None,
        description="Sender address of handoff notices to reps (required with SendGrid)",
    )
    notice_from_name: str | None = Field(None, description="Sender display name of handoff notices")

    # The generic engagement endpoint ``POST /events``: a bearer token, an HMAC secret, or both.
    events_token: SecretStr | None = Field(
        None, description="Bearer token accepted by POST /events"
    )
    events_hmac_secret: SecretStr | None = Field(
        None, description="Secret for X-Nurture-Signature (HMAC-SHA256 of the body) on /events"
    )

    # The call desk's login sessions (a signed cookie).
    session_secret: SecretStr | None = Field(
        None,
        description="Key that signs desk session cookies; set it in production (default: a "
        "random key per process, so a restart logs everyone out)",
    )
    session_https_only: bool = Field(
        False, description="Send the desk session cookie over HTTPS only (set behind TLS)"
    )
    # The desk's login limit: failed logins in a sliding window, per username and per client IP.
    login_failures_per_user: int = Field(
        5, gt=0, description="Failed desk logins of one username to lock it"
    )
    login_failures_per_ip: int = Field(
        20, gt=0, description="Failed desk logins from one client IP (any usernames) to lock it"
    )
    login_window_minutes: float = Field(
        15, gt=0, description="The sliding window the failed desk logins are counted in"
    )

    # Encryption of every Temporal payload (nurture.temporal.codec).
    codec_keys: SecretStr | None = Field(
        None,
        description="Payload encryption keys 'id:base64key,id2:key2' (AES-256: 32 bytes each); "
        "the first encrypts, all decrypt. Default outside production: a key file in data_dir",
    )
    codec_token: SecretStr | None = Field(
        None,
        description="Bearer token accepted by the codec endpoint /codec/* (else a staff login)",
    )
    codec_cors_origins: str = Field(
        "http://localhost:8233,http://127.0.0.1:8233",
        description="Origins (comma-separated) of the Temporal Web UI allowed to call /codec/*",
    )
    webhook_port: int | None = Field(
        None,
        description="Serve the webhooks and /events on their own port (the staff pages stay on "
        "web_port and need not face the internet)",
    )

    def secret(self, field: str) -> str | None:
        """The plain value of a secret setting (``None`` if unset)."""
        value = getattr(self, field)
        if value is None:
            return None
        return value.get_secret_value() if isinstance(value, SecretStr) else str(value)

    def production_problems(self) -> list[str]:
        """What a production deployment lacks (empty outside production or when complete)."""
        if self.env != "production":
            return []
        problems = []
        if not self.secret("session_secret"):
            problems.append("NURTURE_SESSION_SECRET is missing (it signs staff login sessions)")
        if not self.secret("codec_keys"):
            problems.append(
                "NURTURE_CODEC_KEYS is missing (it encrypts the personal data Temporal stores)"
            )
        return problems

    def check_production(self) -> None:
        """Raise ``ProductionConfigError`` listing every missing production setting."""
        problems = self.production_problems()
        if problems:
            raise ProductionConfigError(
                "NURTURE_ENV=production needs:\n" + "\n".join(f"  - {p}" for p in problems)
            )

    @property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL (the SQLite outbox file unless ``database_url`` is set)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'nurture.db'}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
