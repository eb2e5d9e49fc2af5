"""Topic housekeeping for whoever creates topics under a prefix of its own (a test session,
the bench): dropping them again, so a long-lived broker does not collect thousands of
partitions (a local broker with 15,000 ran out of heap)."""

from aiokafka.admin import AIOKafkaAdminClient

from kpi_common.logging import get_logger

log = get_logger(__name__)


async def drop_topics(bootstrap: str, prefix: str) -> list[str]:
    """Delete every topic whose name starts with `prefix` (non-empty); returns their names."""
    if not prefix:
        raise ValueError("prefix: must not be empty (it would delete every topic)")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        doomed = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        if doomed:
            await admin.delete_topics(doomed)
        log.info("topics dropped", prefix=prefix, count=len(doomed))
        return doomed
    finally:
        await admin.close()
