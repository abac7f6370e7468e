"""Fault injection and request counting in front of moto, for the retry tests.

A rule matches requests by service (from the SigV4 credential scope) and operation (X-Amz-Target for the
JSON protocols, the method and path for EKS's REST API and S3, `Action` for STS) and answers `count` of
them with the given HTTP status and AWS error code, in the shape that service's protocol uses — so botocore
parses it exactly as it would parse AWS's own throttling, 5xx or AccessDenied."""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_EKS_ROUTES = [
    ("GET", re.compile(r"^/clusters/[^/]+/node-groups/[^/]+$"), "DescribeNodegroup"),
    ("DELETE", re.compile(r"^/clusters/[^/]+/node-groups/[^/]+$"), "DeleteNodegroup"),
    ("POST", re.compile(r"^/clusters/[^/]+/node-groups/[^/]+/update-config$"), "UpdateNodegroupConfig"),
    ("GET", re.compile(r"^/clusters/[^/]+/node-groups$"), "ListNodegroups"),
    ("POST", re.compile(r"^/clusters/[^/]+/node-groups$"), "CreateNodegroup"),
    ("GET", re.compile(r"^/clusters/[^/]+$"), "DescribeCluster"),
    ("GET", re.compile(r"^/clusters$"), "ListClusters"),
]


@dataclass
class Rule:
    id: int
    status: int
    code: str
    count: int = 1
    service: str | None = None
    operation: str | None = None
    message: str = "injected by the emulator"
    fired: int = 0


def identify(environ: dict[str, Any], body: bytes) -> tuple[str, str]:  # noqa: PLR0911
    """(service, operation) of a request, as far as the fault rules need it."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _SCOPE.search(auth)
    service = match.group(2) if match else ""
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if not service and "X-Amz-Credential" in query:  # a presigned URL
        parts = query["X-Amz-Credential"][0].split("/")
        service = parts[3] if len(parts) > 3 else ""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
    if service == "eks":
        for verb, pattern, operation in _EKS_ROUTES:
            if verb == method and pattern.match(path):
                return service, operation
    if service == "s3":
        if method == "GET" and path.count("/") <= 1 and "list-type" in query:
            return service, "ListObjectsV2"
        if method == "GET":
            return service, "GetObject"
        return service, method
    if service == "sts":
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        action = (form.get("Action") or query.get("Action") or [""])[0]
        return service, action
    return service, f"{method} {path}"


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._rules: list[Rule] = []
        self.requests: Counter[str] = Counter()

    def add(self, spec: dict[str, Any]) -> Rule:
        rule = Rule(
            id=next(self._ids),
            status=int(spec["status"]),
            code=str(spec["code"]),
            count=int(spec.get("count", 1)),
            service=spec.get("service"),
            operation=spec.get("operation"),
            message=str(spec.get("message") or "injected by the emulator"),
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.requests.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._rules]

    def take(self, service: str, operation: str) -> Rule | None:
        """Count the request; the rule that answers it instead of moto, if any (used up after `count`)."""
        with self._lock:
            self.requests[f"{service}:{operation}"] += 1
            for rule in self._rules:
                if rule.fired >= rule.count:
                    continue
                if rule.service not in (None, service) or rule.operation not in (None, operation):
                    continue
                rule.fired += 1
                return rule
        return None


def error_response(
    rule: Rule, service: str, environ: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], bytes]:
    """The error in the wire format of the service's protocol."""
    status = f"{rule.status} {_REASONS.get(rule.status, 'Error')}"
    request_id = "emu-" + str(rule.id)
    if environ.get("HTTP_X_AMZ_TARGET"):  # JSON 1.0 / 1.1 (SageMaker)
        body = json.dumps({"__type": rule.code, "message": rule.message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)]
    elif service in ("s3",):
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{rule.code}</Code>"
            f"<Message>{rule.message}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    elif service in ("sts", "iam"):
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{rule.code}</Code><Message>{rule.message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    else:  # REST-JSON (EKS)
        body = json.dumps({"message": rule.message}).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", rule.code),
            ("x-amzn-RequestId", request_id),
        ]
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body


_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}  # fmt: skip
