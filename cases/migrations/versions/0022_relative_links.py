"""A link between cases has a kind: the same person's earlier case, or a relative's own matter (issue 18).

Support to a relative is the relative's own matter, opened from the subject's case and linked to it
(`cases.relatives`). Existing links are all of the first kind. The kind is a code; the link holds no personal data.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_links") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="earlier"))


def downgrade() -> None:
    with op.batch_alter_table("case_links") as batch:
        batch.drop_column("kind")
