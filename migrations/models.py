"""Every table the migrations own: each domain package's models, on one metadata."""

from __future__ import annotations

from authz import models as authz_models
from core.db import write_positions as core_models
from core.db.base import Base
from indicators import models as indicator_models
from indicators.feed import models as feed_models
from indicators.quality import models as quality_models
from indicators.reporting import models as reporting_models
from indicators.rollups import models as rollup_models
from indicators.targets import models as target_models
from indicators.validation import models as validation_models
from tenancy import models as tenancy_models

target_metadata = Base.metadata
MODEL_MODULES = (
    core_models,
    tenancy_models,
    authz_models,
    indicator_models,
    rollup_models,
    reporting_models,
    target_models,
    validation_models,
    quality_models,
    feed_models,
)
