"""Rosters, sign-in sessions and per-set submission limits.

- users: an optional e-mail and display name (from a roster), and ``name_key``, the name in lower case,
  unique: user names are matched regardless of case (``Alice`` and ``alice`` are one person).
- web_sessions: a sign-in of the web pages, with its own random id (stored hashed), an expiry, and the
  time it was revoked at sign-out; API tokens stay for API clients.
- problem_sets.submissions_per_hour: how many answers files one student may submit to the set in any
  hour (null: the service's default).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    clashes = bind.execute(sa.text(
        "SELECT lower(name) FROM users GROUP BY lower(name) HAVING count(*) > 1")).scalars().all()
    if clashes:
        raise RuntimeError("user names that differ only in case must be merged or renamed before this upgrade: "
                           + ", ".join(sorted(clashes)[:20]))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('display_name', sa.String(length=200), nullable=True))
    op.execute("UPDATE users SET name_key = lower(name)")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=128), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_name_key'), ['name_key'])

    op.create_table(
        'web_sessions',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_web_sessions')),
    )
    op.create_index(op.f('ix_web_sessions_user_id'), 'web_sessions', ['user_id'], unique=False)

    with op.batch_alter_table('problem_sets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submissions_per_hour', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('problem_sets', schema=None) as batch_op:
        batch_op.drop_column('submissions_per_hour')
    op.drop_index(op.f('ix_web_sessions_user_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_name_key'), type_='unique')
        batch_op.drop_column('name_key')
        batch_op.drop_column('display_name')
        batch_op.drop_column('email')
