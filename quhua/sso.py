"""Single sign-on as the settings configure it: off unless an issuer is set."""

from __future__ import annotations

from authz.oidc import OidcConfig, OidcVerifier
from quhua.settings import Settings


def oidc_verifier(settings: Settings) -> OidcVerifier | None:
    """The JWT verifier of the settings; ValueError naming the setting that is wrong."""
    if not settings.oidc_issuer:
        return None
    return OidcVerifier(
        OidcConfig(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience or "",
            jwks_url=settings.oidc_jwks_url,
            jwks_file=settings.oidc_jwks_file,
            subject_claim=settings.oidc_subject_claim,
            algorithms=tuple(settings.oidc_algorithms),
            leeway_seconds=settings.oidc_leeway_seconds,
            keys_lifespan_seconds=settings.oidc_keys_lifespan_seconds,
            refetch_floor_seconds=settings.oidc_refetch_floor_seconds,
        )
    )
