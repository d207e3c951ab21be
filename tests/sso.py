"""The province's identity provider as the tests play it: key pairs that sign JWTs and
whose public halves make a JWKS."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://sso.nx.example/realms/province"
AUDIENCE = "quhua"


class Signer:
    """A key pair of the provider: signs JWTs, and its public half is a JWK."""

    def __init__(self, kid: str, private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        self.kid = kid
        self.private = private
        self.algorithm = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"

    @classmethod
    def rsa(cls, kid: str) -> Signer:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def ec(cls, kid: str) -> Signer:
        return cls(kid, ec.generate_private_key(ec.SECP256R1()))

    @property
    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            found = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            found = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**found, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def sign(self, subject: str | None = None, *, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
        if subject is not None:
            body["sub"] = subject
        body.update(claims)
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(
            body, self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid}
        )


def sso_settings(jwks_file: Path, *signers: Signer) -> dict[str, Any]:
    """Settings of an app that accepts the signers' JWTs, their keys written to the file."""
    jwks_file.write_text(json.dumps({"keys": [s.jwk for s in signers]}), encoding="utf-8")
    return {"oidc_issuer": ISSUER, "oidc_audience": AUDIENCE, "oidc_jwks_file": jwks_file}
