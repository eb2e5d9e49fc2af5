"""Async SQLAlchemy 2 with asyncpg: one engine per process, one schema per service,
Alembic migrations run at start under an advisory lock (safe with several replicas)."""

import asyncio
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Everything that means "the database could not be used; retry later" (a 503, never a 500),
# as raw asyncpg raises it (the ingest's claim pool) and as SQLAlchemy wraps it: refused or
# lost connections (bare OSError, InterfaceError), a connection broken mid-statement
# (InternalClientError: "cannot switch to state 15" while the server restarts), the server's
# own failures on raw statements that break no constraint (PostgresError: shutdown, deadlock,
# ...) and a pool exhausted too long. A constraint or bad SQL through SQLAlchemy
# (IntegrityError, ProgrammingError, ...) is not here: that is a bug, and stays a 500.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.InternalError,
    sa_exc.TimeoutError,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """The MetaData of one service: every table lives in that service's own schema."""
    return MetaData(schema=schema, naming_convention=NAMING)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commits once when the block ends, rolls back on any exception."""
    async with sessions() as session, session.begin():
        yield session


async def database_reachable(engine: AsyncEngine, timeout_s: float = 2.0) -> bool:
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def _lock_id(schema: str) -> int:
    return zlib.crc32(f"kpi-migrations:{schema}".encode())


async def run_migrations(engine: AsyncEngine, schema: str, script_location: Path) -> None:
    """Bring the service's schema to head. Serialised across replicas by an advisory lock."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _lock_id(schema)})
        try:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await conn.commit()
            await conn.run_sync(_upgrade, schema, script_location)
            await conn.commit()
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _lock_id(schema)})
            await conn.commit()


def _upgrade(conn: Connection, schema: str, script_location: Path) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["connection"] = conn
    cfg.attributes["schema"] = schema
    command.upgrade(cfg, "head")


def configure_alembic_env(target_metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`: run on the connection handed in."""
    from alembic import context

    conn: Connection = context.config.attributes["connection"]
    schema: str = context.config.attributes["schema"]
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        version_table_schema=schema,
        include_schemas=True,
    )
    with context.begin_transaction():
        context.run_migrations()
