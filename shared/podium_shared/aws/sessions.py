"""boto3 clients per (region, role): the standard credential chain, optionally exchanged for a role's
temporary credentials through STS AssumeRole (refreshed by botocore before they expire), retry mode
`standard` with bounded attempts, and connect/read timeouts. Clients are thread-safe and cached per process.

Credentials exist only in these objects' memory: nothing here logs, stores or returns them."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials

from podium_shared.errors import Invalid
from podium_shared.settings import PodiumSettings

ROLE_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
ROLE_SESSION_NAME = "podium"


@dataclass(frozen=True)
class AwsTarget:
    """Where a cluster's AWS calls go: its region, and the role assumed for them (None: the chain's own)."""

    region: str
    role_arn: str | None = None

    def __post_init__(self) -> None:
        if self.role_arn is not None and not ROLE_ARN.match(self.role_arn):
            raise Invalid(f"{self.role_arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")


@dataclass(frozen=True)
class AwsTuning:
    max_attempts: int = 3
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: PodiumSettings) -> AwsTuning:
        return cls(
            settings.aws_max_attempts, settings.aws_connect_timeout_seconds, settings.aws_read_timeout_seconds
        )

    def config(self, region: str) -> Config:
        return Config(
            region_name=region,
            # total_max_attempts counts the first try too (botocore's `max_attempts` counts retries only).
            retries={"mode": "standard", "total_max_attempts": max(1, self.max_attempts)},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            user_agent_extra="podium",
        )


_lock = threading.Lock()
_sessions: dict[tuple[AwsTarget, AwsTuning], boto3.Session] = {}
_clients: dict[tuple[AwsTarget, AwsTuning, str], Any] = {}


def session_for(target: AwsTarget, tuning: AwsTuning) -> boto3.Session:
    with _lock:
        found = _sessions.get((target, tuning))
        if found is None:
            found = _sessions[(target, tuning)] = _new_session(target, tuning)
        return found


def client(service: str, target: AwsTarget, tuning: AwsTuning) -> Any:
    """A cached boto3 client of `service` for `target` (thread-safe, like every boto3 client)."""
    key = (target, tuning, service)
    with _lock:
        found = _clients.get(key)
    if found is not None:
        return found
    session = session_for(target, tuning)
    config = tuning.config(target.region)
    if service == "s3":
        # SigV4 for presigned URLs too (botocore may otherwise presign with the deprecated SigV2).
        config = config.merge(Config(signature_version="s3v4"))
    made = session.client(service, config=config)
    with _lock:
        return _clients.setdefault(key, made)


def reset_cache() -> None:
    """Forget every session and client (tests that point the endpoint somewhere new)."""
    with _lock:
        _sessions.clear()
        _clients.clear()


def _new_session(target: AwsTarget, tuning: AwsTuning) -> boto3.Session:
    base = boto3.Session(region_name=target.region)
    if target.role_arn is None:
        return base
    sts = base.client("sts", config=tuning.config(target.region))
    role_arn = target.role_arn

    def assume() -> dict[str, str]:
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME)["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    # Deferred: nothing is fetched until the first call, so a bad role fails that call (classified), not
    # the construction; botocore refreshes the credentials shortly before they expire.
    core = botocore.session.get_session()
    core._credentials = DeferredRefreshableCredentials(refresh_using=assume, method="sts-assume-role")
    return boto3.Session(botocore_session=core, region_name=target.region)
