"""Builds the process runtime from settings: the composition root for API and workers."""

from __future__ import annotations

from aivideo.db import create_engine, create_sessionmaker
from aivideo.media_tokens import load_secret
from aivideo.migrate import migrate
from aivideo.pipeline.job_queue import TaskiqJobs
from aivideo.providers.catalog import Catalog
from aivideo.providers.local import LocalProvider
from aivideo.providers.registry import HostedModels
from aivideo.rate_limits import GenerationLimiter
from aivideo.runtime import Runtime
from aivideo.settings import Settings
from aivideo.storage.base import Storage
from aivideo.storage.local import LocalStorage
from aivideo.subscriptions.broker_base import EventBroker
from aivideo.subscriptions.memory_broker import InMemoryBroker
from aivideo.subscriptions.redis_broker import RedisBroker
from aivideo.tracing import instrument_engine
from aivideo.video_revisions import SqliteRevisions


def build_storage(config: Settings) -> Storage:
    if config.s3_bucket:
        from aivideo.storage.s3 import S3Storage  # boto3 loads only when it is used

        return S3Storage(
            bucket=config.s3_bucket,
            endpoint_url=config.s3_endpoint_url or None,
            public_endpoint_url=config.s3_public_endpoint_url or None,
        )
    return LocalStorage(config.media_dir)


def build_event_broker(config: Settings) -> EventBroker:
    if config.redis_url:
        return RedisBroker(config.redis_url, prefix=config.redis_prefix)
    return InMemoryBroker()


def build_jobs(config: Settings) -> TaskiqJobs:
    """The job queue and its taskiq broker, with every job registered."""
    return TaskiqJobs(config)


async def start_runtime(
    config: Settings, jobs: TaskiqJobs, *, migrate_embedded: bool = True
) -> Runtime:
    """Connect everything and bind it to the jobs; the embedded SQLite database is migrated."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(config.database_url)
    instrument_engine(engine, config)
    if migrate_embedded and config.is_sqlite:
        await migrate(engine)
    catalog = Catalog(config)
    events = build_event_broker(config)
    await events.start()
    runtime = Runtime(
        settings=config,
        engine=engine,
        sessions=create_sessionmaker(engine),
        storage=build_storage(config),
        provider=LocalProvider(),
        catalog=catalog,
        hosted=HostedModels(catalog),
        events=events,
        jobs=jobs,
        secret=load_secret(config.secret_key, config.data_dir),
        limiter=GenerationLimiter(config),
        revisions=SqliteRevisions(config.database_url) if config.is_sqlite else None,
    )
    jobs.bind(runtime)
    return runtime


async def stop_runtime(runtime: Runtime, jobs: TaskiqJobs) -> None:
    jobs.bind(None)
    await runtime.events.close()
    await runtime.hosted.close()
    if runtime.revisions is not None:
        runtime.revisions.close()
    await runtime.engine.dispose()
