"""Settings bases. Each service subclasses `ServiceSettings` once, in its `config.py`."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service needs: where Postgres and Kafka are, and how to log.

    Environment variables carry the `KPI_` prefix (`KPI_DATABASE_URL`, ...).
    """

    model_config = SettingsConfigDict(env_prefix="KPI_", extra="ignore", frozen=True)

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:15432/kpi"
    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = Field(default="", pattern=r"^[a-zA-Z0-9._-]*$")
    topic_partitions: int = Field(default=6, ge=1, le=1024)
    # of the topics the services create when missing: 1 suits one broker; 3 (with the
    # brokers' min.insync.replicas=2) a three-broker cluster
    topic_replication_factor: int = Field(default=1, ge=1, le=32)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"
    host: str = "127.0.0.1"
