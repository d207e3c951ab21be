"""Single sign-on: the identity provider's JWTs, checked with keys this test makes and
serves from a file and from a real local HTTP server; grants stay Quhua's."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from starlette.testclient import TestClient

from authz.authentication import INVALID_TOKEN
from authz.oidc import OidcConfig
from authz.oidc_keys import KeySet, file_loader
from tests.cli import quhua
from tests.conftest import client_for, data_of, graphql
from tests.export_world import export, export_world
from tests.sso import AUDIENCE, ISSUER, Signer

UNKNOWN = "sso-stranger"
NO_GRANTS = "sso-nobody"


class JwksServer:
    """The provider's JWKS endpoint on a free local port, counting the fetches."""

    def __init__(self, *signers: Signer) -> None:
        self.keys = [signer.jwk for signer in signers]
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/jwks"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def rsa_signer() -> Signer:
    return Signer.rsa("rsa-1")


@pytest.fixture(scope="module")
def ec_signer() -> Signer:
    return Signer.ec("ec-1")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The export world (two provinces, four callers), and a subject who holds nothing."""
    with export_world(str(request.param), tmp_path_factory.mktemp("oidc")) as found:
        made = quhua("token", "create", "--subject", NO_GRANTS, url=found["url"])
        assert made.exit_code == 0, made.stderr
        yield found


@pytest.fixture
def provider(rsa_signer: Signer, ec_signer: Signer) -> Iterator[JwksServer]:
    with JwksServer(rsa_signer, ec_signer) as server:
        yield server


def sso_client(url: str, token: str | None, jwks: JwksServer | Path, **settings: Any) -> TestClient:
    where = {"oidc_jwks_file": jwks} if isinstance(jwks, Path) else {"oidc_jwks_url": jwks.url}
    return client_for(
        url,
        token,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_refetch_floor_seconds=settings.pop("oidc_refetch_floor_seconds", 0),
        **where,
        **settings,
    )


def sees(client: TestClient, code: str) -> bool:
    """Whether the caller may read the unit: data, or FORBIDDEN (anything else fails)."""
    body = graphql(client, "query($c: String!) { jurisdiction(code: $c) { code } }", c=code)
    if body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        return False
    return bool(body["data"]["jurisdiction"] == {"code": code})


ME = "{ me { subject { name } grants { role jurisdiction { code } } tokenExpiresAt } }"


def test_a_jwt_reads_what_its_subjects_grants_allow(
    world: dict[str, str], provider: JwksServer, rsa_signer: Signer, ec_signer: Signer
) -> None:
    url = world["url"]
    with sso_client(url, rsa_signer.sign("township-viewer"), provider) as township:
        me = data_of(township, ME)["me"]
        assert me["subject"] == {"name": "township-viewer"}
        assert me["grants"] == [{"role": "viewer", "jurisdiction": {"code": "640104001"}}]
        assert me["tokenExpiresAt"] is not None
        assert sees(township, "640104001001")
        assert not sees(township, "650102001")
        assert not sees(township, "65")
    # An EC key signs for the other province, which sees its own and not Ningxia's.
    with sso_client(url, ec_signer.sign("xinjiang-viewer"), provider) as xinjiang:
        assert sees(xinjiang, "650102001001")
        assert not sees(xinjiang, "640104001001")
        assert not sees(xinjiang, "64")


def test_a_subject_without_grants_is_signed_in_and_sees_nothing(
    world: dict[str, str], provider: JwksServer, rsa_signer: Signer
) -> None:
    with sso_client(world["url"], rsa_signer.sign(NO_GRANTS), provider) as nobody:
        assert data_of(nobody, ME)["me"]["grants"] == []
        for code in ("64", "640104001001", "65"):
            assert not sees(nobody, code)


def refusal(client: TestClient, token: str) -> tuple[int, str | None, Any]:
    response = client.post(
        "/graphql",
        json={"query": "{ me { subject { name } } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.headers.get("www-authenticate"), response.json()


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forged(signer: Signer, header: dict[str, Any], key: bytes) -> str:
    """A token with the header given, HMAC-signed with the key (empty key: unsigned)."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "export-admin", "exp": now + 600}
    signed = f"{b64(header)}.{b64(claims)}"
    if not key:
        return signed + "."
    return signed + "." + b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())


def bad_tokens(signer: Signer, ec_signer: Signer) -> dict[str, str]:
    now = int(time.time())
    impostor = Signer.rsa(signer.kid)
    public_pem = signer.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = signer.sign("export-admin")
    head, body, signature = good.split(".")
    return {
        "expired": signer.sign("export-admin", iat=now - 7200, exp=now - 3600),
        "expired beyond the leeway": signer.sign("export-admin", iat=now - 600, exp=now - 60),
        "not yet valid": signer.sign("export-admin", nbf=now + 3600),
        "wrongly signed": impostor.sign("export-admin"),
        "signature of another token": f"{head}.{body}.{signer.sign('reader').split('.')[2]}",
        "wrong issuer": signer.sign("export-admin", iss="https://sso.other.example"),
        "wrong audience": signer.sign("export-admin", aud="another-app"),
        "no audience": signer.sign("export-admin", aud=None),
        "no expiry": signer.sign("export-admin", exp=None),
        "no subject": signer.sign(None),
        "empty subject": signer.sign(""),
        "subject not a string": signer.sign(None, sub=64),
        "unknown subject": signer.sign(UNKNOWN),
        "unknown key id": signer.sign("export-admin", kid="rsa-unknown"),
        "key id of another algorithm": signer.sign("export-admin", kid=ec_signer.kid),
        "malformed": f"{head}.{body[:-3]}.{signature}",
        "not json": "abc.def.ghi",
        "unsigned": forged(signer, {"alg": "none", "kid": signer.kid}, b""),
        "alg none with a signature": forged(signer, {"alg": "none", "kid": signer.kid}, b"x"),
        "HS256 with the public key": forged(
            signer, {"alg": "HS256", "kid": signer.kid}, public_pem
        ),
    }


def test_bad_jwts_are_refused_like_a_bad_quhua_token(
    world: dict[str, str], provider: JwksServer, rsa_signer: Signer, ec_signer: Signer
) -> None:
    bad_quhua = "qh_" + secrets.token_urlsafe(32)
    with sso_client(world["url"], None, provider) as client:
        expected = refusal(client, bad_quhua)
        assert expected[0] == 401
        assert expected[2]["errors"][0]["message"] == INVALID_TOKEN
        assert expected[2]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        for kind, token in bad_tokens(rsa_signer, ec_signer).items():
            assert refusal(client, token) == expected, kind
        # The good token still works: nothing above was refused for another reason.
        assert refusal(client, rsa_signer.sign("export-admin"))[0] == 200
        # Clocks differ: within the leeway (30 s) of exp or nbf a token is still good.
        now = int(time.time())
        assert refusal(client, rsa_signer.sign("export-admin", exp=now - 10))[0] == 200
        assert refusal(client, rsa_signer.sign("export-admin", nbf=now + 10))[0] == 200


def test_without_an_issuer_configured_jwts_are_bad_tokens(
    world: dict[str, str], rsa_signer: Signer
) -> None:
    with client_for(world["url"]) as client:
        expected = refusal(client, "qh_" + secrets.token_urlsafe(32))
        assert refusal(client, rsa_signer.sign("export-admin")) == expected


def test_quhua_tokens_still_work_beside_single_sign_on(
    world: dict[str, str], provider: JwksServer
) -> None:
    with sso_client(world["url"], world["township"], provider) as client:
        assert data_of(client, ME)["me"]["subject"] == {"name": "township-viewer"}


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    world: dict[str, str], provider: JwksServer, rsa_signer: Signer
) -> None:
    with sso_client(world["url"], None, provider) as client:
        assert refusal(client, rsa_signer.sign("township-viewer"))[0] == 200
        assert provider.fetches == 1
        rotated = Signer.rsa(f"rsa-{uuid.uuid4().hex[:6]}")
        assert refusal(client, rotated.sign("township-viewer"))[0] == 401
        provider.keys = [rotated.jwk]
        assert refusal(client, rotated.sign("township-viewer"))[0] == 200
        assert provider.fetches == 3
        # Known keys are not fetched again.
        assert refusal(client, rotated.sign("export-admin"))[0] == 200
        assert provider.fetches == 3


def test_unknown_key_ids_refetch_no_more_often_than_the_floor(
    world: dict[str, str], provider: JwksServer, rsa_signer: Signer
) -> None:
    with sso_client(world["url"], None, provider, oidc_refetch_floor_seconds=3600) as client:
        assert refusal(client, rsa_signer.sign("township-viewer"))[0] == 200
        rotated = Signer.rsa("rsa-next")
        provider.keys.append(rotated.jwk)
        for number in range(20):
            made_up = rsa_signer.sign("township-viewer", kid=f"made-up-{number}")
            assert refusal(client, made_up)[0] == 401
        assert refusal(client, rotated.sign("township-viewer"))[0] == 401
        assert provider.fetches == 1


def test_keys_from_a_file_and_replaced_in_it(
    world: dict[str, str], rsa_signer: Signer, tmp_path: Path
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [rsa_signer.jwk]}), encoding="utf-8")
    with sso_client(world["url"], None, jwks) as client:
        assert refusal(client, rsa_signer.sign("township-viewer"))[0] == 200
        rotated = Signer.ec("ec-rotated")
        assert refusal(client, rotated.sign("township-viewer"))[0] == 401
        jwks.write_text(json.dumps({"keys": [rotated.jwk]}), encoding="utf-8")
        assert refusal(client, rotated.sign("township-viewer"))[0] == 200


def test_symmetric_keys_in_the_set_are_never_used(world: dict[str, str], tmp_path: Path) -> None:
    secret = secrets.token_bytes(32)
    jwks = tmp_path / "jwks.json"
    oct_key = {"kty": "oct", "kid": "shared", "k": b64(secret), "alg": "HS256"}
    jwks.write_text(json.dumps({"keys": [oct_key]}), encoding="utf-8")
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "export-admin", "exp": now + 600}
    token = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": "shared"})
    with sso_client(world["url"], None, jwks) as client:
        assert refusal(client, token)[0] == 401
    with pytest.raises(ValueError, match="oidc_algorithms: HS256 not accepted"):
        sso_client(world["url"], None, jwks, oidc_algorithms=["HS256"])


SUBMIT = """mutation($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "report") { ok errors { message } } }"""
LIVE = """subscription($under: String!) {
  aggregateChanges(under: $under, level: COUNTY, elements: ["births"]) {
    changes { unit period value } } }"""


def test_a_jwt_opens_a_subscription_and_a_bad_one_does_not(
    world: dict[str, str], provider: JwksServer, rsa_signer: Signer
) -> None:
    url = world["url"]
    token = rsa_signer.sign("province-system")
    admin_jwt = rsa_signer.sign("export-admin")
    with (
        sso_client(url, admin_jwt, provider) as admin,
        sso_client(url, None, provider) as anonymous,
    ):
        with anonymous.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            )
            assert ws.receive_json() == {"type": "connection_ack"}
            subscribe = {"query": LIVE, "variables": {"under": "64"}}
            ws.send_json({"id": "1", "type": "subscribe", "payload": subscribe})
            row = {
                "jurisdiction": "640104001002",
                "element": "births",
                "period": "2024-05",
                "disaggregation": "sex=male;parity=1",
                "value": 4,
            }
            # A write by a caller signed in with a JWT: its change set names no token.
            assert data_of(admin, SUBMIT, rows=[row])["submitValues"]["ok"]
            pushed = ws.receive_json()
            assert pushed["type"] == "next", pushed
            changes = pushed["payload"]["data"]["aggregateChanges"]["changes"]
            assert {"unit": "640104", "period": "2024-05", "value": 4.0} in changes
        expired = rsa_signer.sign("province-system", exp=int(time.time()) - 3600)
        with anonymous.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            init = {"Authorization": f"Bearer {expired}"}
            ws.send_json({"type": "connection_init", "payload": init})
            closed = ws.receive()
            assert closed["type"] == "websocket.close" and closed["code"] == 4403


def aggregates(client: TestClient, under: str, token: str) -> httpx.Response:
    client.headers["Authorization"] = f"Bearer {token}"
    return export(
        client,
        "/export/aggregates",
        under=under,
        level="county",
        **{"from": "2024-01", "to": "2024-06"},
        indicators="birth_rate",
        elements="births",
    )


def test_a_jwt_exports_aggregates_of_its_scope_only(
    world: dict[str, str], provider: JwksServer, rsa_signer: Signer
) -> None:
    with sso_client(world["url"], None, provider) as client:
        reader = rsa_signer.sign("province-system")
        ningxia = aggregates(client, "64", reader)
        assert ningxia.status_code == 200, ningxia.text
        units = {line.split(",")[0] for line in ningxia.text.splitlines()[1:]}
        assert "640104" in units
        assert all(unit.startswith("64") for unit in units)
        assert aggregates(client, "65", reader).status_code == 403
        expected = aggregates(client, "64", "qh_" + secrets.token_urlsafe(32))
        refused = aggregates(client, "64", rsa_signer.sign("province-system", aud="other"))
        assert expected.status_code == 401
        assert (refused.status_code, refused.json()) == (expected.status_code, expected.json())


GRANT = """mutation($subject: String!, $code: String!) {
  grantRole(subject: $subject, role: "viewer", jurisdiction: $code, reason: "new staff") {
    subject { name } } }"""

AUDIT = "{ policyAudit(first: 100) { edges { node { actor actorToken subject { name } } } } }"


def test_an_administrator_signed_in_by_jwt_grants_and_the_grantee_signs_in(
    world: dict[str, str], provider: JwksServer, rsa_signer: Signer
) -> None:
    newcomer = f"sso-new-{uuid.uuid4().hex[:6]}"
    url = world["url"]
    with sso_client(url, None, provider) as client:
        assert refusal(client, rsa_signer.sign(newcomer))[0] == 401
    with sso_client(url, rsa_signer.sign("export-admin"), provider) as admin:
        granted = data_of(admin, GRANT, subject=newcomer, code="640104001")
        assert granted["grantRole"]["subject"] == {"name": newcomer}
        audit = data_of(admin, AUDIT)["policyAudit"]["edges"]
        entries = [edge["node"] for edge in audit if edge["node"]["subject"]["name"] == newcomer]
        assert entries == [
            {"actor": "export-admin", "actorToken": None, "subject": {"name": newcomer}}
        ]
        # A Quhua token of one's own, for a script, is issued to a JWT caller as to any.
        made = data_of(admin, 'mutation { createToken(label: "script") { token } }')
    with sso_client(url, rsa_signer.sign(newcomer.upper()), provider) as grantee:
        assert sees(grantee, "640104001001")
        assert not sees(grantee, "6501")
    with client_for(url, made["createToken"]["token"]) as script:
        assert data_of(script, ME)["me"]["subject"] == {"name": "export-admin"}


def test_settings_that_would_weaken_the_check_stop_the_server(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    with pytest.raises(ValueError, match="oidc_jwks_file: no file at"):
        OidcConfig(ISSUER, AUDIENCE, jwks_file=jwks)
    jwks.write_text('{"keys": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="oidc_jwks_url: an http or https URL"):
        OidcConfig(ISSUER, AUDIENCE, jwks_url=f"file://{jwks}")
    good = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": jwks}
    for algorithms, named in ((("HS256",), "HS256"), (("none", "RS256"), "none")):
        with pytest.raises(ValueError, match=f"oidc_algorithms: {named} not accepted"):
            OidcConfig(**good, algorithms=algorithms)
    with pytest.raises(ValueError, match="exactly one of oidc_jwks_url, oidc_jwks_file"):
        OidcConfig(ISSUER, AUDIENCE, jwks_url="https://sso.nx.example/jwks", jwks_file=jwks)
    with pytest.raises(ValueError, match="oidc_audience"):
        OidcConfig(ISSUER, "", jwks_file=jwks)


def test_stale_keys_are_read_again_and_a_failed_read_keeps_them(
    rsa_signer: Signer, ec_signer: Signer, tmp_path: Path
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [rsa_signer.jwk]}), encoding="utf-8")
    now = [0.0]
    keys = KeySet(
        file_loader(jwks),
        algorithms=("RS256", "ES256"),
        lifespan_seconds=300,
        refetch_floor_seconds=30,
        clock=lambda: now[0],
    )

    async def scenario() -> None:
        assert await keys.key(rsa_signer.kid) is not None
        jwks.write_text("not json", encoding="utf-8")
        now[0] = 301.0
        assert await keys.key(rsa_signer.kid) is not None, "a failed read keeps the keys"
        jwks.write_text(json.dumps({"keys": [ec_signer.jwk]}), encoding="utf-8")
        now[0] = 320.0
        assert await keys.key(ec_signer.kid) is None, "within the floor of the failed read"
        now[0] = 331.0
        assert await keys.key(ec_signer.kid) is not None
        assert await keys.key(rsa_signer.kid) is None, "a key dropped from the set goes"
        assert keys.fetches == 3

    asyncio.run(scenario())
