"""Settings from the environment (QUHUA_*), with defaults that need nothing installed."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from authz.oidc import DEFAULT_ALGORITHMS
from schema.cost import MAX_QUERY_COST


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUHUA_", env_file=None, extra="ignore")

    data_dir: Path = Field(
        default=Path("var"), description="Folder of the default SQLite database."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL (sqlite:///… or postgresql://…); "
        "default: a SQLite file in data_dir.",
    )
    read_replica_urls: list[str] = Field(
        default_factory=list,
        description="PostgreSQL streaming replicas (a JSON list of URLs) for requests of "
        "queries only, once a replica has replayed the caller's last write (noted per "
        "process); everything else, and any read a replica fails, goes to the primary.",
    )
    read_replica_retry_seconds: float = Field(
        default=5.0, gt=0, description="How long a replica that failed is left alone."
    )
    read_replica_callers: int = Field(
        default=10_000,
        gt=0,
        description="Callers whose last write each process remembers for read-your-writes; "
        "the least recently written go first.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser."
    )
    max_body_bytes: int = Field(default=1_000_000, description="Largest request body accepted.")
    max_query_cost: int = Field(
        default=MAX_QUERY_COST,
        gt=0,
        description="Most nodes one request may ask for (schema/cost.py), all its operations "
        "together; more is refused with BAD_USER_INPUT before anything runs.",
    )
    request_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest a request may run: then it stops (what it had not committed "
        "is rolled back) and answers 503 with the code TIMEOUT.",
    )
    graphiql: bool = Field(default=True, description="Serve GraphiQL at /graphql in browsers.")
    console_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs the console's session cookies; every worker and machine "
        "serving one console must share it. Unset: generated once into data_dir/console-secret.",
    )
    rate_limit_per_second: float = Field(
        default=0.0,
        ge=0,
        description="Requests per second each caller may make to /graphql, /export/*, "
        "/import/* and the console's pages (a token bucket per token or console session, or "
        "per client address without one, in each worker process); more answers 429 with "
        "Retry-After. 0: no limit.",
    )
    rate_limit_burst: int = Field(
        default=20, gt=0, description="Requests a caller may make at once before the rate holds."
    )
    rate_limit_callers: int = Field(
        default=10_000,
        gt=0,
        description="Callers whose buckets each process keeps; the least recently seen go first.",
    )
    subscriptions_per_caller: int = Field(
        default=10,
        gt=0,
        description="Subscriptions each caller (subject) may run at once in each worker "
        "process, over all its sockets; one more is refused with RATE_LIMITED.",
    )
    persisted_query_cache_size: int = Field(
        default=1_000,
        gt=0,
        description="Automatic persisted queries each process remembers by hash; the least "
        "recently used go first (their clients send them again).",
    )
    boundaries: Path | None = Field(
        default=None,
        description="A GeoJSON FeatureCollection of division boundaries (each feature's "
        "properties.code a division code) for the console's map; none is shipped, since "
        "public maps of China need an approval number. No map when unset.",
    )
    allowed_operations: Path | None = Field(
        default=None,
        description="Allow-list mode: only the operations of this file (a JSON map of sha256 "
        "to document, or an Apollo persisted-query manifest) or folder (of .graphql files) "
        "run; any other is refused with PERSISTED_QUERY_NOT_IN_LIST. Off when unset.",
    )
    introspection: bool | None = Field(
        default=None,
        description="Answer __schema and __type queries. Default: yes, except in allow-list "
        "mode, where an unlisted introspection query then runs only if this is true.",
    )
    policy_poll_seconds: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="How often each process checks for changed grants and tokens.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="Single sign-on: the identity provider's issuer (`iss`); when set, bearer "
        "JWTs from it are accepted beside Quhua's tokens. Off when unset.",
    )
    oidc_audience: str | None = Field(
        default=None, description="Single sign-on: the audience (`aud`) a JWT must name."
    )
    oidc_jwks_url: str | None = Field(
        default=None, description="Single sign-on: the provider's JWKS URL (http or https)."
    )
    oidc_jwks_file: Path | None = Field(
        default=None, description="Single sign-on: a JWKS file, instead of the URL."
    )
    oidc_subject_claim: str = Field(
        default="sub",
        description="Single sign-on: the claim holding the name of the caller's Quhua subject.",
    )
    oidc_algorithms: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALGORITHMS),
        description="Single sign-on: the signature algorithms accepted (asymmetric only).",
    )
    oidc_leeway_seconds: float = Field(
        default=30.0, ge=0, le=300, description="Single sign-on: clock skew allowed on exp/nbf."
    )
    oidc_keys_lifespan_seconds: float = Field(
        default=300.0, gt=0, description="Single sign-on: how long fetched keys are trusted."
    )
    oidc_refetch_floor_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Single sign-on: fewest seconds between two fetches of the keys, however "
        "many tokens name unknown key ids.",
    )

    @property
    def url(self) -> str:
        """The database URL in force."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'quhua.sqlite3').as_posix()}"

    @property
    def introspection_on(self) -> bool:
        """Whether introspection is answered, the allow-list's default applied."""
        if self.introspection is None:
            return self.allowed_operations is None
        return self.introspection

    def prepare_data_dir(self) -> None:
        """Create the folder of the default SQLite database, if that is the database in use."""
        if not self.database_url:
            self.data_dir.mkdir(parents=True, exist_ok=True)
