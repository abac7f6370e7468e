"""The emulator's HTTP server: moto's WSGI application behind a thin front that serves `/_emu/` (admin:
faults, seeding, speed) and answers requests a fault rule claims. Everything else is moto's."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from podium_awsemu import extensions, seed
from podium_awsemu.faults import Faults, error_response, identify

StartResponse = Callable[..., Any]


class EmulatorApp:
    def __init__(self, timings: extensions.Timings) -> None:
        self.state = extensions.install(timings)
        self.faults = Faults()
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.url = ""  # set once the server is bound (seeding talks to it over HTTP)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_emu/"):
            return self._admin(environ, start_response, path[len("/_emu/") :])
        body = b""
        if environ.get("REQUEST_METHOD") == "POST" and "form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
        _route_presigned(environ)
        service, operation = identify(environ, body)
        rule = self.faults.take(service, operation)
        if rule is not None:
            status, headers, payload = error_response(rule, service, environ)
            start_response(status, headers)
            return [payload]
        result: Iterable[bytes] = self.moto(environ, start_response)
        return result

    def _admin(self, environ: dict[str, Any], start_response: StartResponse, route: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        doc: Any = json.loads(raw) if raw else {}
        status, answer = "200 OK", dict[str, Any]()
        if route == "healthz":
            answer = {"ok": True, "speed": self.state.timings.speed}
        elif route == "faults" and method == "POST":
            answer = {"ids": [self.faults.add(doc).id]}
        elif route == "faults" and method == "GET":
            answer = {"rules": self.faults.rules()}
        elif route == "faults" and method == "DELETE":
            self.faults.clear()
        elif route == "requests":
            answer = {"requests": dict(self.faults.requests)}
        elif route == "seed" and method == "POST":
            answer = seed.apply(self.url, doc)
        elif route == "s3/fill" and method == "POST":
            answer = {
                "created": _fill_bucket(str(doc["bucket"]), int(doc["keys"]), int(doc.get("prefixes", 1)))
            }
        elif route == "settle" and method == "POST":
            seed.settle_now()
        elif route == "speed" and method == "POST":
            self.state.timings.speed = float(doc["speed"])
            answer = {"speed": self.state.timings.speed}
        elif route == "unavailable-instance-types" and method == "POST":
            self.state.unavailable_instance_types = set(doc.get("instance_types") or [])
            answer = {"instance_types": sorted(self.state.unavailable_instance_types)}
        else:
            status, answer = "404 Not Found", {"message": f"no emulator admin route {method} /_emu/{route}"}
        payload = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


def _fill_bucket(bucket: str, keys: int, prefixes: int) -> int:
    """Put `keys` small objects spread over `prefixes` "folders" straight into moto's store (benchmarks:
    100,000 PutObject requests would take minutes). The bucket must exist."""
    from moto.s3.models import s3_backends  # noqa: PLC0415 - moto loads backends lazily

    backend = s3_backends[seed.ACCOUNT]["aws"]
    for i in range(keys):
        backend.put_object(bucket, f"p{i % prefixes:03d}/{i:07d}.bin", b"x")
    return keys


def _route_presigned(environ: dict[str, Any]) -> None:
    """moto picks the service from the Authorization header and takes a header-less GET for S3. A
    presigned STS request (an EKS token replayed by an authenticator) has its credential in the query:
    give moto the header it looks for, so GetCallerIdentity reaches STS as it would on AWS."""
    if environ.get("HTTP_AUTHORIZATION"):
        return
    query = parse_qs(environ.get("QUERY_STRING", ""))
    credential = (query.get("X-Amz-Credential") or [""])[0]
    parts = credential.split("/")
    if len(parts) >= 5 and parts[3] not in ("s3", "s3-object-lambda"):
        environ["HTTP_AUTHORIZATION"] = f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host"


class EmulatorServer:
    """The emulator on host:port in a background thread (the `python -m podium_awsemu` process runs one)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, speed: float = 1.0) -> None:
        self.app = EmulatorApp(extensions.Timings(speed=speed))
        self._server: BaseWSGIServer = make_server(
            host, port, self.app, threaded=True, request_handler=MotoRequestHandler
        )
        self.host, self.port = host, int(self._server.server_address[1])
        self.url = self.app.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="awsemu", daemon=True)

    def start(self) -> EmulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)
        self._server.server_close()
