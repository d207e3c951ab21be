"""Single sign-on: bearer JWTs from the province's identity provider (OIDC).

A JWT is accepted when its signature checks with one of the provider's keys (authz.oidc_keys)
under one of the configured asymmetric algorithms, its issuer and audience are the configured
ones, and it is within `exp`/`nbf` give or take the leeway. The configured claim (default
`sub`) names the caller: the Quhua subject whose name has the same key. Grants stay Quhua's:
the provider says who the caller is, never what they may do.

Every refusal is one `OidcRefused`, which the authenticator turns into the same answer as a
bad Quhua token, so a caller learns nothing of why.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jwt
from jwt.exceptions import PyJWTError

from authz.oidc_keys import KeySet, file_loader, url_loader

# The asymmetric algorithms PyJWT checks: the provider signs with a private key we never
# hold. `none` and the HS* family are never accepted: with HS256 a public key would become a
# shared secret anyone can sign with (algorithm confusion).
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("RS256", "ES256")
# Three base64url segments: header, claims, signature (never empty: unsigned tokens are refused).
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class OidcRefused(Exception):
    """A JWT that does not prove who its caller is."""


def looks_like_jwt(credential: str) -> bool:
    return _JWT_SHAPE.fullmatch(credential) is not None


@dataclass(frozen=True, slots=True)
class OidcConfig:
    """What a JWT must satisfy; checked when built, so a bad setting stops the server."""

    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks_file: Path | None = None
    subject_claim: str = "sub"
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway_seconds: float = 30.0
    keys_lifespan_seconds: float = 300.0
    refetch_floor_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not self.issuer.strip():
            raise ValueError("oidc_issuer: give the identity provider's issuer URL")
        if not self.audience.strip():
            raise ValueError("oidc_audience: give the audience the provider puts in tokens")
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("single sign-on: give exactly one of oidc_jwks_url, oidc_jwks_file")
        if self.jwks_url is not None and urlparse(self.jwks_url).scheme not in ("http", "https"):
            raise ValueError(f"oidc_jwks_url: an http or https URL, not {self.jwks_url!r}")
        if self.jwks_file is not None and not self.jwks_file.is_file():
            raise ValueError(f"oidc_jwks_file: no file at {self.jwks_file}")
        if not self.algorithms:
            raise ValueError("oidc_algorithms: name at least one algorithm")
        refused = sorted(set(self.algorithms) - ASYMMETRIC_ALGORITHMS)
        if refused:
            raise ValueError(
                f"oidc_algorithms: {', '.join(refused)} not accepted; only asymmetric "
                f"algorithms ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))})"
            )
        if not self.subject_claim.strip():
            raise ValueError("oidc_subject_claim: name the claim that names the caller")


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    """Who a checked JWT says the caller is, and until when it is accepted: its `exp` plus
    the leeway, as the check of `exp` itself allows."""

    subject: str
    expires_at: dt.datetime


@dataclass(slots=True)
class OidcVerifier:
    """Checks JWTs against one provider, with its keys cached for the process."""

    config: OidcConfig
    keys: KeySet = field(init=False)

    def __post_init__(self) -> None:
        config = self.config
        if config.jwks_url is not None:
            load = url_loader(config.jwks_url)
        else:
            assert config.jwks_file is not None
            load = file_loader(config.jwks_file)
        self.keys = KeySet(
            load,
            algorithms=config.algorithms,
            lifespan_seconds=config.keys_lifespan_seconds,
            refetch_floor_seconds=config.refetch_floor_seconds,
        )

    async def identify(self, token: str) -> OidcIdentity:
        """The caller a JWT names; OidcRefused if anything about it is wrong."""
        config = self.config
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError as error:
            raise OidcRefused("not a JWT") from error
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") not in config.algorithms:
            raise OidcRefused("no key id, or an algorithm not configured")
        key = await self.keys.key(kid)
        if key is None:
            raise OidcRefused("no key with this id")
        try:
            # PyJWT also refuses a token whose `alg` differs from the key's own algorithm.
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(config.algorithms),
                audience=config.audience,
                issuer=config.issuer,
                leeway=config.leeway_seconds,
                options={"require": ["exp", "iss", "aud", config.subject_claim]},
            )
        except PyJWTError as error:
            raise OidcRefused(str(error)) from error
        subject = claims[config.subject_claim]
        expires = claims["exp"]
        if not isinstance(subject, str) or not subject.strip():
            raise OidcRefused(f"claim {config.subject_claim} is not a name")
        try:
            expires_at = dt.datetime.fromtimestamp(expires + config.leeway_seconds, dt.UTC)
        except (TypeError, ValueError, OverflowError, OSError) as error:
            raise OidcRefused("exp is not a time") from error
        return OidcIdentity(subject, expires_at)
