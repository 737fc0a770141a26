"""Concerns from every source: an anonymous or named outside reporter, and an approximate age (issue 18).

`cases.anonymous` says that nothing about the reporter was recorded; `cases.reporter_name` and
`cases.reporter_contact` hold a named outside reporter's details, sealed with the case key like every
personal-data field. `persons.age_approximate` says that the sealed birth date is estimated from an
approximate age, until the identity is completed.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("anonymous", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("reporter_name", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("reporter_contact", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("age_approximate", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("age_approximate")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("reporter_contact")
        batch.drop_column("reporter_name")
        batch.drop_column("anonymous")
