"""API keys: created once and shown once; only their SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aivideo import ids
from aivideo.errors import BadUserInput, NotFound
from aivideo.models import ApiKey
from aivideo.models.columns import utcnow

KEY_PREFIX = "aiv_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(session: AsyncSession, *, owner: str) -> tuple[ApiKey, str]:
    """A new key for `owner`: the stored row and the key itself (not stored anywhere)."""
    owner = owner.strip()
    if not owner or len(owner) > 200:
        raise BadUserInput("owner must be 1 to 200 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(id=ids.new_id(ids.API_KEY), owner=owner, key_hash=hash_key(key), prefix=key[:10])
    session.add(row)
    await session.flush()
    return row, key


async def owner_of_key(session: AsyncSession, key: str) -> str | None:
    """The owner of a live key, or None."""
    return await session.scalar(
        select(col(ApiKey.owner)).where(
            col(ApiKey.key_hash) == hash_key(key), col(ApiKey.revoked_at).is_(None)
        )
    )


async def owners_of_hashes(session: AsyncSession, key_hashes: Collection[str]) -> dict[str, str]:
    """Owner by hash of each live key among `key_hashes`; revoked or unknown ones are absent."""
    rows = await session.execute(
        select(col(ApiKey.key_hash), col(ApiKey.owner)).where(
            col(ApiKey.key_hash).in_(key_hashes), col(ApiKey.revoked_at).is_(None)
        )
    )
    return {key_hash: owner for key_hash, owner in rows.tuples()}


async def any_key_exists(session: AsyncSession) -> bool:
    return await session.scalar(select(col(ApiKey.id)).limit(1)) is not None


async def revoke_api_key(session: AsyncSession, *, key: str) -> str:
    """Revoke a key (from then on it authenticates no one); the owner it belonged to."""
    row = await session.scalar(
        select(ApiKey).where(
            col(ApiKey.key_hash) == hash_key(key), col(ApiKey.revoked_at).is_(None)
        )
    )
    if row is None:
        raise NotFound("no live API key matches")
    row.revoked_at = utcnow()
    return row.owner
