"""Register extracts: what the decision covered (`released_items`: the item keys screened and released, and a
keyed hash of their content) and the decision makers' reads of the draft (`draft_read`: staff id -> a keyed
hash of the draft they read). Both codes and hashes only, nothing personal.

A request decided before this revision has no `released_items`: its extract is refused (a new request is
screened and decided afresh), as one whose items changed would be.

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subject_extracts") as batch:
        batch.add_column(sa.Column("draft_read", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("released_items", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subject_extracts") as batch:
        batch.drop_column("released_items")
        batch.drop_column("draft_read")
