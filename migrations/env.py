"""Alembic environment: runs on a connection handed in by aivideo.migrate, or on its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from aivideo import models  # noqa: F401  (registers the tables on the metadata)
from aivideo.db import create_engine
from aivideo.settings import settings

config = context.config
target_metadata = SQLModel.metadata


def run_on(connection: Connection) -> None:
    # render_as_batch: SQLite can only alter tables by rebuilding them.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or settings.database_url)
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


given = config.attributes.get("connection")
if given is not None:
    run_on(given)
elif context.is_offline_mode():
    context.configure(
        url=settings.database_url, target_metadata=target_metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_standalone())
