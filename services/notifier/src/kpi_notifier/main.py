"""Composition root of the notifier service: builds the infrastructure once and wires it in.

Background loops: the consumers (goals.changes, then kpi.breaches and kpi.status: see
`consumers`), the sender, the outbox relay (notifications.sent) and the ticker (reminders,
escalation, review reminders). Tests pass their own clock and environment, and may leave
loops out to drive them by hand.
"""

import os
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from kpi_common.http import OrjsonResponse, install_common
from kpi_common.kafka import dead_letter_topic
from kpi_common.runtime import RelayHolder, serve
from kpi_common.service import ServiceRuntime
from kpi_common.topics import NOTIFICATIONS_SENT
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kpi_notifier import incident_api
from kpi_notifier.api import router
from kpi_notifier.channels import ChannelSender
from kpi_notifier.channels.email import EmailSender
from kpi_notifier.channels.slack import SlackSender
from kpi_notifier.channels.webhook import WebhookSender
from kpi_notifier.commands import Commands
from kpi_notifier.config import SCHEMA, SERVICE, Settings
from kpi_notifier.consumers import Consumers
from kpi_notifier.handlers import EventHandler
from kpi_notifier.incident_commands import IncidentCommands
from kpi_notifier.messages import Messages
from kpi_notifier.models import outbox
from kpi_notifier.queries import Queries
from kpi_notifier.sender import Sender
from kpi_notifier.ticker import Ticker

MIGRATIONS = Path(__file__).parent / "migrations"
LOOPS = ("consumer", "sender", "relay", "ticker")
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Notifier:
    """Everything the process holds, for the routes and for tests."""

    runtime: ServiceRuntime
    sessions: async_sessionmaker[AsyncSession]
    handler: EventHandler
    sender: Sender
    ticker: Ticker
    commands: Commands
    http: httpx.AsyncClient
    relay: RelayHolder
    queries: Queries
    incidents: IncidentCommands


def build(settings: Settings, clock: Clock, environ: Mapping[str, str]) -> Notifier:
    runtime = ServiceRuntime(name=SERVICE, settings=settings, schema=SCHEMA, migrations=MIGRATIONS)
    sessions = runtime.sessions
    http = httpx.AsyncClient(timeout=settings.http_timeout_s)
    relay = runtime.outbox_relay(outbox)
    channels: dict[str, ChannelSender] = {
        "email": EmailSender(settings),
        "slack": SlackSender(http, settings.slack_min_interval_s),
        "webhook": WebhookSender(http, clock),
    }
    messages = Messages(web_url=settings.web_url)
    sender = Sender(
        sessions=sessions,
        channels=channels,
        messages=messages,
        environ=environ,
        clock=clock,
        settings=settings,
        topic=runtime.topic(NOTIFICATIONS_SENT.name),
        published=relay.notify,  # a delivery recorded as sent: relay its event now
    )
    handler = EventHandler(
        sessions,
        clock,
        sender.wake,
        settings.digest_window_s,
        dead_letter_topic(settings.topic_prefix),
        settings.restatement_window_s,
        settings.group_wait_s,
    )
    ticker = Ticker(
        sessions,
        clock,
        settings.reminder_interval,
        settings.tick_interval_s,
        sender.wake,
        shadow_retention_days=settings.shadow_retention_days,
        inbox_digest=settings.inbox_digest,
    )
    commands = Commands(sessions, clock, sender.wake)
    queries = Queries(sessions, clock, messages)
    incidents = IncidentCommands(sessions, clock)
    return Notifier(
        runtime, sessions, handler, sender, ticker, commands, http, relay, queries, incidents
    )


def spawn_loops(n: Notifier, settings: Settings, loops: Collection[str]) -> None:
    runtime = n.runtime
    consumers = Consumers(runtime, settings, n.handler)
    named = {
        "consumer": {"strategy-consumer": consumers.strategy, "kpi-consumer": consumers.kpi},
        "sender": {"sender": n.sender.run},
        "relay": {"relay": n.relay.run},
        "ticker": {"ticker": n.ticker.run},
    }
    for name in loops:
        for task, loop in named[name].items():
            runtime.supervisor.spawn(task, loop)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = system_clock,
    environ: Mapping[str, str] | None = None,
    loops: Collection[str] = LOOPS,
) -> FastAPI:
    settings = settings or Settings()
    notifier = build(settings, clock, os.environ if environ is None else environ)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await notifier.runtime.start()
        app.state.notifier = notifier
        app.state.runtime = notifier.runtime
        spawn_loops(notifier, settings, loops)
        try:
            yield
        finally:
            await notifier.runtime.stop()
            await notifier.http.aclose()

    app = FastAPI(
        title="kpi-cascade notifier",
        version="0.1.0",
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
    )
    install_common(app, SERVICE, notifier.runtime.readiness)
    app.include_router(router)
    app.include_router(incident_api.router)
    return app


def run() -> None:
    settings = Settings()
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    run()
