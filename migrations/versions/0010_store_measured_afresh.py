"""rollups, rollup_reports, subtree_sizes: measured afresh from the values and the tree

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Revisions 0005 to 0007 once measured these tables with the application's code, which
# expects the columns of whatever revision the code is at; they now leave them to this
# one. The SQL is written out for the tables as they stand here, on SQLite and PostgreSQL
# alike, so that later changes to the code cannot change what this migration does.
#
# A row of rollups holds, for a unit above the villages, one option combo and one bucket
# (`span` months from `month_index`, a month, a quarter or a year, no shorter than the
# element's own period), the sum over the unit's subtree, itself included, of each unit's
# values in the bucket combined by the element's time aggregation: summed, averaged, or the
# latest. Rows that sum to nothing are left out. A row of rollup_reports counts the units of
# the subtree that hold any value of the element in the bucket.

# Each unit's contribution to each bucket of each combo: its values there summed, averaged,
# or the latest.
_CONTRIBUTIONS = """
CREATE TEMPORARY TABLE store_contributions AS
WITH spans (span) AS (SELECT 1 UNION ALL SELECT 3 UNION ALL SELECT 12),
combos AS (
    SELECT c.id AS combo_id, c.element_id, e.time_aggregation AS aggregation,
        CASE e.period_type WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 WHEN 'year' THEN 12 END
            AS element_span
    FROM option_combos c JOIN data_elements e ON e.id = c.element_id
),
grouped AS (
    SELECT v.jurisdiction_id AS unit_id, v.combo_id, x.element_id, x.aggregation, s.span,
        v.month_index - v.month_index % s.span AS start, sum(v.value) AS total,
        avg(v.value) AS average, max(v.month_index) AS latest
    FROM data_values v
    JOIN combos x ON x.combo_id = v.combo_id
    JOIN spans s ON s.span >= x.element_span
    GROUP BY v.jurisdiction_id, v.combo_id, x.element_id, x.aggregation, s.span,
        v.month_index - v.month_index % s.span
)
SELECT g.unit_id, g.element_id, g.combo_id, g.span, g.start,
    CASE g.aggregation WHEN 'sum' THEN g.total WHEN 'average' THEN g.average
        ELSE l.value END AS amount
FROM grouped g
LEFT JOIN data_values l ON g.aggregation = 'last' AND l.jurisdiction_id = g.unit_id
    AND l.combo_id = g.combo_id AND l.month_index = g.latest
"""
# The sums of both tables, by unit: contributions per combo, and a count of one per unit
# and element reporting in a bucket, each at its own unit, or its parent's for a village.
_SUMS = """
CREATE TEMPORARY TABLE store_sums AS
SELECT 'combo' AS kind, CASE WHEN j.level = 'village' THEN j.parent_id ELSE j.id END
        AS unit_id, c.combo_id AS key_id, c.span, c.start, sum(c.amount) AS amount
FROM store_contributions c JOIN jurisdictions j ON j.id = c.unit_id
GROUP BY CASE WHEN j.level = 'village' THEN j.parent_id ELSE j.id END, c.combo_id, c.span,
    c.start
UNION ALL
SELECT 'element', CASE WHEN j.level = 'village' THEN j.parent_id ELSE j.id END, r.element_id,
    r.span, r.start, count(*)
FROM (SELECT DISTINCT unit_id, element_id, span, start FROM store_contributions) r
JOIN jurisdictions j ON j.id = r.unit_id
GROUP BY CASE WHEN j.level = 'village' THEN j.parent_id ELSE j.id END, r.element_id, r.span,
    r.start
"""
# Each unit's sums at one level added to its parent's, lowest level first: a parent holds
# all of its own and its children's before it is lifted in turn.
_LIFT = """
INSERT INTO store_sums (kind, unit_id, key_id, span, start, amount)
SELECT s.kind, j.parent_id, s.key_id, s.span, s.start, sum(s.amount)
FROM store_sums s JOIN jurisdictions j ON j.id = s.unit_id
WHERE j.level = :level
GROUP BY s.kind, j.parent_id, s.key_id, s.span, s.start
"""
_ROLLUPS = """
INSERT INTO rollups (unit_id, span, month_index, combo_id, total)
SELECT unit_id, span, start, key_id, sum(amount)
FROM store_sums WHERE kind = 'combo'
GROUP BY unit_id, span, start, key_id
HAVING sum(amount) <> 0
"""
_REPORTS = """
INSERT INTO rollup_reports (unit_id, span, month_index, element_id, units)
SELECT unit_id, span, start, key_id, sum(amount)
FROM store_sums WHERE kind = 'element'
GROUP BY unit_id, span, start, key_id
"""
# How many units lie strictly below each unit at each level, by the day they were retired
# (9999-12-31 for current ones). A unit's ancestors are its code's prefixes: 2, 4, 6 and
# 9 digits for a province, a city, a county and a township.
_SIZES = """
INSERT INTO subtree_sizes (unit_id, level, until, units)
SELECT a.id, d.level, coalesce(d.valid_to, '9999-12-31'), count(*)
FROM jurisdictions d JOIN jurisdictions a ON a.code = substr(d.code, 1, :prefix)
WHERE length(d.code) > :prefix
GROUP BY a.id, d.level, coalesce(d.valid_to, '9999-12-31')
"""


def upgrade() -> None:
    connection = op.get_bind()
    for statement in (
        "DELETE FROM rollups",
        "DELETE FROM rollup_reports",
        "DELETE FROM subtree_sizes",
        _CONTRIBUTIONS,
        _SUMS,
    ):
        connection.execute(sa.text(statement))
    for level in ("township", "county", "city"):
        connection.execute(sa.text(_LIFT), {"level": level})
    for statement in (
        _ROLLUPS,
        _REPORTS,
        "DROP TABLE store_contributions",
        "DROP TABLE store_sums",
    ):
        connection.execute(sa.text(statement))
    for prefix in (2, 4, 6, 9):
        connection.execute(sa.text(_SIZES), {"prefix": prefix})


def downgrade() -> None:
    # The tables are unchanged; what they hold is what revision 0009 keeps.
    pass
