"""Settings: the one validated object that configures Proofdesk.

Only the edges (CLI ``main``, ``create_app``, worker entry points) build a :class:`Settings`, usually with
:meth:`Settings.from_env`; everything else receives it (or one of its sections) as an argument. Nothing reads
the environment at import time. Library code takes only the small sections it needs (``EvidenceLimits``,
``VerdictPolicy``), so it can be used without any environment at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from proofdesk.errors import InvalidSettings

__all__ = ["EvidenceLimits", "Settings", "VerdictPolicy"]


class EvidenceLimits(BaseModel):
    """Limits applied before and while decoding untrusted files (decompression bombs, metadata floods)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_bytes: int = Field(default=60 * 1024 * 1024, gt=0, description="largest accepted file, bytes")
    max_pixels: int = Field(default=120_000_000, gt=0, description="largest accepted width*height")
    max_side: int = Field(default=30_000, gt=0, description="largest accepted width or height")
    max_metadata_bytes: int = Field(default=4 * 1024 * 1024, gt=0, description="largest metadata block read")


class VerdictPolicy(BaseModel):
    """How findings combine into ``risk`` and ``verdict`` (see ``proofdesk.verify``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    forged_at: float = Field(default=0.85, ge=0.0, le=1.0, description="risk at or above: likely_forged")
    review_at: float = Field(default=0.35, ge=0.0, le=1.0, description="risk at or above: needs_review")
    # Weight of each check's score in the risk. Weak cues (pixel statistics) get a small weight so that they
    # can send a claim to review but never make it "likely_forged" on their own.
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "reference": 1.0,
            "provenance": 1.0,
            "metadata": 0.6,
            "pixels": 0.6,
            "reuse": 0.9,
        }
    )

    @model_validator(mode="after")
    def _ordered(self) -> VerdictPolicy:
        if self.review_at > self.forged_at:
            raise ValueError("review_at must not exceed forged_at")
        for name, weight in self.weights.items():
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"weight of {name!r} must be within [0, 1]")
        return self


class Settings(BaseSettings):
    """Everything configurable, validated once. Environment variables use the ``PROOFDESK_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="PROOFDESK_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(default=Path("var"), description="embedded default: SQLite file and evidence folder")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite in data_dir")
    blob_url: str | None = Field(default=None, description="evidence store; default a folder in data_dir")
    job_backend: Literal["local", "dramatiq"] = "local"
    redis_url: str = "redis://localhost:6379/0"
    dramatiq_namespace: str = Field(default="proofdesk", description="Redis key prefix of the Dramatiq job queue")
    local_workers: int = Field(default=1, ge=0, le=64)
    secret_key: SecretStr | None = Field(
        default=None, description="key for encrypting personal data at rest (Fernet, urlsafe base64, 32 bytes)"
    )
    environment: Literal["development", "test", "production"] = "development"
    merchant_response_hours: float = Field(default=48.0, gt=0)
    policy_file: Path | None = Field(default=None, description="routing policy TOML; default: the built-in one")
    evidence: EvidenceLimits = Field(default_factory=EvidenceLimits)
    verdict: VerdictPolicy = Field(default_factory=VerdictPolicy)
    checks: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-check configuration overrides, keyed by check name"
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be a sqlite:// or postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        if self.environment == "production" and self.secret_key is None:
            raise ValueError("production needs PROOFDESK_SECRET_KEY; refusing to run with a default key")
        return self

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Build settings from the environment plus explicit overrides; invalid values raise InvalidSettings."""
        try:
            return cls(**overrides)
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            raise InvalidSettings(f"invalid settings: {exc}") from exc

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'proofdesk.sqlite3').resolve()}"

    @property
    def evidence_dir(self) -> Path:
        """Folder of the embedded blob store."""
        return self.data_dir / "evidence"
