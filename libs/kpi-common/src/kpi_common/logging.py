"""Structured logging with structlog, one call at process start."""

import logging
import sys
from typing import Any

import structlog

# Bound loggers are cached on first use (cheaper). Tests that capture logs turn this off, since
# a cached logger keeps the processors it was built with and never reaches the capture.
CACHE_LOGGERS = True


def configure_logging(service: str, level: str = "INFO", fmt: str = "console") -> None:
    """Route stdlib and structlog output through one renderer, tagged with the service."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=CACHE_LOGGERS,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
