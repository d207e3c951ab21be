"""Writing the quality settings with a catalogue load, and reading them for a request."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, delete, insert, select

from core.db.session import RequestSession
from indicators.quality.models import QualitySettingsRow
from indicators.quality.settings import QualitySettings

_ROW = cast(Table, QualitySettingsRow.__table__)


def store_quality(connection: Connection, settings: QualitySettings) -> None:
    """Replace the stored settings, inside the catalogue load's transaction."""
    connection.execute(delete(_ROW))
    connection.execute(insert(_ROW).values(id=1, settings=settings.as_json()))


async def quality_settings(session: RequestSession) -> QualitySettings:
    """The stored settings; the defaults before any catalogue named them."""
    stored: dict[str, Any] | None = await session.scalar(select(QualitySettingsRow.settings))
    return QualitySettings.from_json(stored or {})


def quality_settings_sync(connection: Connection) -> QualitySettings:
    stored = connection.execute(select(QualitySettingsRow.settings)).scalar()
    return QualitySettings.from_json(stored or {})
