"""The fault suite (issue 8): a disposable PostgreSQL, Kafka, SMTP sink and the four services,
steady load with exactly known totals, and faults (SIGKILL of each service, Kafka and
PostgreSQL restarts) while it runs; then every acknowledged event must be counted exactly
once, no breach transition lost, no notification sent twice unexplained.

    python -m chaos            # the full form (`make chaos`)
    python -m chaos --short    # the CI form (tests/e2e/test_chaos.py)
"""
