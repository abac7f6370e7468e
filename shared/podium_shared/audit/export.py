"""CSV and JSON Lines renderings of the audit log, produced batch by batch for a streamed response."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from podium_shared.audit.schemas import CSV_COLUMNS, AuditEventOut
from podium_shared.audit.service import AuditFilter, iter_events, last_id, record_request
from podium_shared.auth.principal import Principal, RequestMeta
from podium_shared.models.audit import AuditEvent

# Spreadsheets run a cell starting with one of these as a formula; auditors open exports in spreadsheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def jsonl(rows: Iterable[AuditEvent]) -> Iterator[bytes]:
    for row in rows:
        yield AuditEventOut.model_validate(row).model_dump_json().encode() + b"\n"


def csv_rows(rows: Iterable[AuditEvent], *, chunk: int = 200) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    pending = 1
    for row in rows:
        data = AuditEventOut.model_validate(row).model_dump(mode="json")
        writer.writerow(
            [json.dumps(data[c], sort_keys=True) if c == "details" else _cell(data[c]) for c in CSV_COLUMNS]
        )
        pending += 1
        if pending >= chunk:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue().encode()


MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def start_export(
    session: Session,
    principal: Principal,
    meta: RequestMeta,
    *,
    factory: sessionmaker[Session],
    f: AuditFilter,
    fmt: str,
) -> Iterator[bytes]:
    """Record who exported what (in the request's transaction), then hand back the lazy body: it reads
    in batches from sessions of its own while the response streams, up to the last event committed
    before this export (so it never contains its own record)."""
    upto = last_id(session)
    record_request(
        session,
        principal,
        meta,
        action="audit.export",
        details={
            "format": fmt,
            "filters": {k: v for k, v in vars(f).items() if v is not None and not k.startswith("scope_")},
        },
    )
    rows = iter_events(factory, f, upto=upto)
    return csv_rows(rows) if fmt == "csv" else jsonl(rows)
