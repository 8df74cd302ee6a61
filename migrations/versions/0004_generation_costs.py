"""models per video, budgets, spending, artifact models and the provider-call ledger

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
LOCAL = '{"planner": "local", "imageModel": "local", "videoModel": "local", "musicModel": "local"}'


def upgrade() -> None:
    with op.batch_alter_table("videos") as batch:
        batch.add_column(sa.Column("generation", JSON, nullable=False, server_default=LOCAL))
        batch.add_column(sa.Column("budget_usd", sa.Float(), nullable=True))
        batch.add_column(sa.Column("spent_usd", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("artifacts") as batch:
        batch.add_column(sa.Column("model", sa.String(200), nullable=True))
    with op.batch_alter_table("provider_calls") as batch:
        batch.add_column(sa.Column("model", sa.String(200), nullable=True))
        batch.add_column(sa.Column("video_id", sa.String(40), nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="succeeded")
        )
        batch.add_column(sa.Column("prediction_ids", JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("estimated_usd", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
    op.create_index("ix_provider_calls_video_id", "provider_calls", ["video_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_provider_calls_video_id", table_name="provider_calls")
    with op.batch_alter_table("provider_calls") as batch:
        for column in ("error", "estimated_usd", "prediction_ids", "status", "video_id", "model"):
            batch.drop_column(column)
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("model")
    with op.batch_alter_table("videos") as batch:
        for column in ("spent_usd", "budget_usd", "generation"):
            batch.drop_column(column)
