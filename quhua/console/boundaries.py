"""Boundary GeoJSON the operator supplies (`QUHUA_BOUNDARIES`), for the dashboard's map.

Public maps of China need an approval number (审图号), so none ships with Quhua: the
operator points the setting at a GeoJSON FeatureCollection whose features carry the
division code in `properties.code` (Polygon or MultiPolygon geometries). It is checked
once, when the app starts: a file that is not such a collection stops the start with
what is wrong in it, rather than drawing a wrong map later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenancy.levels import Level

SHAPES = frozenset({"Polygon", "MultiPolygon"})


class BoundariesError(ValueError):
    """The boundary file is not what the map needs; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Boundaries:
    # Each unit's feature, by its division code.
    features: dict[str, dict[str, Any]]

    def under(self, code: str, level: Level) -> list[dict[str, Any]]:
        """The features of the level's units inside the unit of the code."""
        return [
            feature
            for found, feature in self.features.items()
            if len(found) == level.code_length and found.startswith(code)
        ]


def load_boundaries(path: Path) -> Boundaries:
    """The file's features by code; BoundariesError naming the first thing wrong."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BoundariesError(f"{path}: cannot be read: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BoundariesError(f"{path}: not UTF-8 JSON: {error}") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise BoundariesError(f"{path}: not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise BoundariesError(f"{path}: its features are not a list")
    found: dict[str, dict[str, Any]] = {}
    for index, feature in enumerate(features):
        where = f"{path}: features[{index}]"
        properties = feature.get("properties") if isinstance(feature, dict) else None
        code = properties.get("code") if isinstance(properties, dict) else None
        if not (isinstance(code, str) and code.isascii() and code.isdigit()):
            raise BoundariesError(f"{where}: properties.code is not a division code")
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") not in SHAPES:
            raise BoundariesError(
                f"{where} ({code}): its geometry is not a Polygon or MultiPolygon"
            )
        if code in found:
            raise BoundariesError(f"{where}: {code} has a feature already")
        found[code] = {"type": "Feature", "properties": {"code": code}, "geometry": geometry}
    return Boundaries(found)
