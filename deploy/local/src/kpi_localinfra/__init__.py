"""Local PostgreSQL and Apache Kafka for kpi-cascade, without Docker (stdlib only)."""

from kpi_localinfra._proc import InfraError
from kpi_localinfra.kafka import KafkaServer, api_versions_ok
from kpi_localinfra.kafka_cluster import KafkaCluster
from kpi_localinfra.kafka_jars import KAFKA_VERSION, ensure_kafka_libs, kafka_classpath
from kpi_localinfra.postgres import PostgresServer
from kpi_localinfra.stack import Stack, StackConfig, find_repo_root

__all__ = [
    "KAFKA_VERSION",
    "InfraError",
    "KafkaCluster",
    "KafkaServer",
    "PostgresServer",
    "Stack",
    "StackConfig",
    "api_versions_ok",
    "ensure_kafka_libs",
    "find_repo_root",
    "kafka_classpath",
]
