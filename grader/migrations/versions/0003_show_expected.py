"""Let an instructor decide per problem set whether students see the expected value of each part.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('problem_sets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_expected', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('problem_sets', schema=None) as batch_op:
        batch_op.drop_column('show_expected')
