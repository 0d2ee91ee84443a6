"""Initial schema: users, problem sets and versions, enrolments, submissions, grades, regrade jobs.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('deliveries',
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_deliveries'))
    )
    op.create_table('service_locks',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_service_locks'))
    )
    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('role', sa.Enum('instructor', 'student', name='user_role'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_users_token_hash'))
    )
    op.create_table('problem_sets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_problem_sets_owner_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_sets')),
    sa.UniqueConstraint('name', name=op.f('uq_problem_sets_name'))
    )
    with op.batch_alter_table('problem_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_sets_owner_id'), ['owner_id'], unique=False)

    op.create_table('enrolments',
    sa.Column('problem_set_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['problem_set_id'], ['problem_sets.id'], name=op.f('fk_enrolments_problem_set_id_problem_sets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_enrolments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('problem_set_id', 'user_id', name=op.f('pk_enrolments'))
    )
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolments_user_id'), ['user_id'], unique=False)

    op.create_table('set_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('problem_set_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('max_score', sa.Float(), nullable=False),
    sa.Column('problems', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('warnings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['problem_set_id'], ['problem_sets.id'], name=op.f('fk_set_versions_problem_set_id_problem_sets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_set_versions')),
    sa.UniqueConstraint('problem_set_id', 'number', name=op.f('uq_set_versions_problem_set_id'))
    )
    op.create_table('regrade_jobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('problem_set_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('set_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('last_submission_id', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('progress_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['problem_set_id'], ['problem_sets.id'], name=op.f('fk_regrade_jobs_problem_set_id_problem_sets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_regrade_jobs_requested_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['set_version_id'], ['set_versions.id'], name=op.f('fk_regrade_jobs_set_version_id_set_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regrade_jobs'))
    )
    with op.batch_alter_table('regrade_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regrade_jobs_problem_set_id'), ['problem_set_id'], unique=False)

    op.create_table('submissions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('problem_set_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('student_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('set_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('answers', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['problem_set_id'], ['problem_sets.id'], name=op.f('fk_submissions_problem_set_id_problem_sets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_version_id'], ['set_versions.id'], name=op.f('fk_submissions_set_version_id_set_versions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_submissions_student_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions'))
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index('ix_submissions_set_student', ['problem_set_id', 'student_id', 'id'], unique=False)
        batch_op.create_index('ix_submissions_version', ['set_version_id', 'id'], unique=False)

    op.create_table('grades',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('submission_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('set_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('max_score', sa.Float(), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('graded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['set_version_id'], ['set_versions.id'], name=op.f('fk_grades_set_version_id_set_versions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_grades_submission_id_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grades')),
    sa.UniqueConstraint('submission_id', 'set_version_id', name=op.f('uq_grades_submission_id'))
    )
    with op.batch_alter_table('grades', schema=None) as batch_op:
        batch_op.create_index('ix_grades_version', ['set_version_id', 'submission_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('grades', schema=None) as batch_op:
        batch_op.drop_index('ix_grades_version')

    op.drop_table('grades')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_version')
        batch_op.drop_index('ix_submissions_set_student')

    op.drop_table('submissions')
    with op.batch_alter_table('regrade_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regrade_jobs_problem_set_id'))

    op.drop_table('regrade_jobs')
    op.drop_table('set_versions')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolments_user_id'))

    op.drop_table('enrolments')
    with op.batch_alter_table('problem_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_sets_owner_id'))

    op.drop_table('problem_sets')
    op.drop_table('users')
    # PostgreSQL keeps the enum as a type of its own.
    sa.Enum(name='user_role').drop(op.get_bind(), checkfirst=True)
    op.drop_table('service_locks')
    op.drop_table('deliveries')
