"""`podium get KIND [--watch]` and `podium status`: the cluster as the watcher keeps it.

Lists come from the read API (`GET /clusters/{cluster}/{kind}`, every `continue` page), which serves the
watcher's snapshot in Redis, never the cluster itself. `--watch` then follows the WebSocket topic of the
same kind with the same namespace and label selector (docs/realtime.md):

- the first subscription asks for a snapshot, which is read atomically with its stream position; it is
  compared with the list just printed and only the differences are printed, so a change that lands
  between the list and the subscription is neither lost nor shown twice;
- every later change is one line: the EVENT column, then the kind's row;
- a `resync` (the server could not replay what we missed) reprints the whole current state;
- a dropped connection reconnects with `since` = the last event id, so nothing inside the replay window
  is lost; Ctrl-C ends the watch with exit code 0.

Rows are built from the Kubernetes objects themselves (the list's `object`, the event's `object`), so a
listed row and a watched row of the same object always look the same."""

# ruff: noqa: PLR0917 - typer maps each parameter to an option; they are never called positionally.

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
import yaml
from podium_shared.serving import labels as pool_labels
from websockets.exceptions import WebSocketException

from podium_cli.client import ApiClient, CliError, ExitCode
from podium_cli.follow import open_socket
from podium_cli.output import OutputFormat, info, render
from podium_cli.state import OutputOpt, client, output_format

# The pool contract's label keys are defined once (SPEC A2); that module is plain constants.
POOL_LABEL = (pool_labels.DEPLOYMENT_TYPE, pool_labels.MODEL_POOL)
MODEL_LABEL = pool_labels.MODEL
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
DEFAULT_NAMESPACE = "default"  # like kubectl: without -n or -A, namespaced kinds read `default`
RECONNECT_MIN, RECONNECT_MAX = 0.5, 5.0
GPU_REFRESH_SECONDS = 2.0  # at most one status read per this many seconds while watching nodes


class Kind(StrEnum):
    pods = "pods"
    deployments = "deployments"
    nodes = "nodes"
    services = "services"
    jobs = "jobs"
    trainingjobs = "trainingjobs"
    events = "events"


Obj = dict[str, Any]


# ---------------------------------------------------------------------------------------------- cells


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _age(timestamp: Any, now: datetime | None = None) -> str:
    if not isinstance(timestamp, str) or not timestamp:
        return "-"
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 2 * 3600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _ns(obj: Obj) -> str:
    return str(_meta(obj).get("namespace") or "-")


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name") or "-")


def _created(obj: Obj) -> str:
    return _age(_meta(obj).get("creationTimestamp"))


def _pod_status(pod: Obj) -> str:
    # What kubectl shows: Terminating while deleting, else a waiting/terminated container's reason
    # (CrashLoopBackOff, ContainerCreating …), else the phase.
    if _meta(pod).get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status") or {}
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        for key in ("waiting", "terminated"):
            reason = (state.get(key) or {}).get("reason")
            if reason and not (key == "terminated" and reason == "Completed"):
                return str(reason)
    return str(status.get("phase") or "Unknown")


def _pod_row(pod: Obj, _ctx: RowContext) -> list[str]:
    status = pod.get("status") or {}
    containers = len((pod.get("spec") or {}).get("containers") or [])
    ready = sum(1 for cs in status.get("containerStatuses") or [] if cs.get("ready"))
    node = (pod.get("spec") or {}).get("nodeName") or "-"
    return [_ns(pod), _name(pod), f"{ready}/{containers}", _pod_status(pod), node, _created(pod)]


def _deployment_row(dep: Obj, _ctx: RowContext) -> list[str]:
    spec = dep.get("spec") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    kind = "pool" if labels.get(POOL_LABEL[0]) == POOL_LABEL[1] else "standard"
    ready = (dep.get("status") or {}).get("readyReplicas") or 0
    desired = spec.get("replicas", 1)
    model = labels.get(MODEL_LABEL) or "-"
    return [_ns(dep), _name(dep), kind, f"{ready}/{desired}", model, _created(dep)]


def _node_row(node: Obj, ctx: RowContext) -> list[str]:
    labels = _meta(node).get("labels") or {}
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    state = "Ready" if ready else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    gpu = ctx.gpu_by_node.get(_name(node)) or {}
    instance = next((labels[k] for k in INSTANCE_TYPE_LABELS if k in labels), None)
    group = gpu.get("node_group") or "-"
    gpus = f"{gpu['gpu_allocatable']}/{gpu['gpu_free']}" if "gpu_free" in gpu else "-"
    return [_name(node), state, instance or gpu.get("instance_type") or "-", group, gpus, _created(node)]


def _service_row(svc: Obj, _ctx: RowContext) -> list[str]:
    spec = svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = next(
        (i.get("hostname") or i.get("ip") for i in ingress if i.get("hostname") or i.get("ip")), None
    )
    if external is None:
        external = "<pending>" if spec.get("type") == "LoadBalancer" else "-"
    ports = ",".join(
        f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [] if p.get("port")
    )
    return [_ns(svc), _name(svc), str(spec.get("type", "ClusterIP")), str(spec.get("clusterIP") or "-"),
            external, ports or "-", _created(svc)]  # fmt: skip


def _job_row(job: Obj, _ctx: RowContext) -> list[str]:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    state = _condition(status) or ("Running" if status.get("active") else "Pending")
    return [_ns(job), _name(job), f"{status.get('succeeded') or 0}/{spec.get('completions', 1)}", state,
            _created(job)]  # fmt: skip


def _condition(status: Obj) -> str | None:
    """The latest condition that holds (Complete, Failed, Running …), as the training operators set them."""
    held = [c for c in status.get("conditions") or [] if c.get("status") == "True" and c.get("type")]
    return str(held[-1]["type"]) if held else None


def _training_row(job: Obj, _ctx: RowContext) -> list[str]:
    state = _condition(job.get("status") or {}) or "Created"
    return [_ns(job), _name(job), str(job.get("kind") or "-"), state, _created(job)]


def _event_row(ev: Obj, _ctx: RowContext) -> list[str]:
    involved = ev.get("involvedObject") or {}
    seen = ev.get("lastTimestamp") or ev.get("eventTime") or _meta(ev).get("creationTimestamp")
    message = " ".join(str(ev.get("message") or "-").split())
    return [_ns(ev), _age(seen), str(ev.get("type") or "-"), str(ev.get("reason") or "-"),
            f"{str(involved.get('kind') or '-').lower()}/{involved.get('name') or '-'}", message]  # fmt: skip


@dataclass
class RowContext:
    """What a row needs beyond its object: GPU figures per node come from the status read."""

    gpu_by_node: dict[str, Obj] = field(default_factory=dict)


@dataclass(frozen=True)
class View:
    headers: tuple[str, ...]
    row: Callable[[Obj, RowContext], list[str]]


VIEWS: dict[Kind, View] = {
    Kind.pods: View(("NAMESPACE", "NAME", "READY", "STATUS", "NODE", "AGE"), _pod_row),
    Kind.deployments: View(("NAMESPACE", "NAME", "TYPE", "READY", "MODEL", "AGE"), _deployment_row),
    Kind.nodes: View(("NAME", "STATUS", "INSTANCE-TYPE", "NODE-GROUP", "GPU(ALLOC/FREE)", "AGE"), _node_row),
    Kind.services: View(
        ("NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-ADDRESS", "PORTS", "AGE"), _service_row
    ),
    Kind.jobs: View(("NAMESPACE", "NAME", "COMPLETIONS", "STATUS", "AGE"), _job_row),
    Kind.trainingjobs: View(("NAMESPACE", "NAME", "KIND", "STATUS", "AGE"), _training_row),
    Kind.events: View(("NAMESPACE", "LAST-SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"), _event_row),
}


# ------------------------------------------------------------------------------------------- printing


class Printer:
    """kubectl-style plain columns. Widths are fixed from the first rows printed, so the lines a watch
    prints later stay under their headers (a longer cell just pushes the rest of its line right)."""

    def __init__(self, headers: Sequence[str], first_rows: Iterable[Sequence[str]]) -> None:
        self.headers = list(headers)
        self.widths = [len(h) for h in headers]
        for row in first_rows:
            self.widths = [max(w, len(c)) for w, c in zip(self.widths, row, strict=False)]

    def line(self, cells: Sequence[str]) -> None:
        padded = [c.ljust(w) for c, w in zip(cells[:-1], self.widths, strict=False)]
        sys.stdout.write("   ".join([*padded, cells[-1]]).rstrip() + "\n")
        sys.stdout.flush()  # one event, one line, now: a pipe (grep, a test) sees it at once

    def header(self) -> None:
        self.line(self.headers)


def _key(obj: Obj) -> str:
    meta = _meta(obj)
    return f"{obj.get('kind', '')}|{meta.get('namespace') or ''}/{meta.get('name')}"


def _rv(obj: Obj) -> str:
    return str(_meta(obj).get("resourceVersion") or "")


# -------------------------------------------------------------------------------------------- reading


@dataclass
class Query:
    cluster: str
    kind: Kind
    namespace: str | None
    label_selector: str | None
    field_selector: str | None
    page_size: int


def list_all(api: ApiClient, q: Query) -> tuple[list[Obj], Obj]:
    """Every matching item over all `continue` pages; also the first page's envelope (snapshot age)."""
    items: list[Obj] = []
    token: str | None = None
    first: Obj = {}
    while True:
        page = api.get(
            f"/clusters/{q.cluster}/{q.kind.value}",
            namespace=q.namespace,
            labelSelector=q.label_selector,
            fieldSelector=q.field_selector,
            limit=q.page_size,
            **{"continue": token},
        )
        first = first or page
        items.extend(page.get("items") or [])
        token = page.get("continue")
        if not token:
            return items, first


def _gpu_map(api: ApiClient, cluster: str) -> dict[str, Obj]:
    try:
        status = api.get(f"/clusters/{cluster}/status")
    except CliError as exc:
        if exc.exit_code == ExitCode.auth:  # namespace-scoped users cannot see cluster-wide GPU use
            return {}
        raise
    return {str(n.get("name")): n for n in status.get("nodes") or []}


# ----------------------------------------------------------------------------------------------- watch


WS_ERROR_EXIT = {
    "unknown_cluster": ExitCode.not_found,
    "not_found": ExitCode.not_found,
    "unauthenticated": ExitCode.auth,
    "forbidden": ExitCode.auth,
}


class _Reconnect(Exception):
    """The server asked us to come back (unavailable) or the connection dropped."""


@dataclass
class Watch:
    api: ApiClient
    q: Query
    fmt: OutputFormat
    ctx: RowContext
    known: dict[str, str]  # key -> resourceVersion of what has been printed as present
    printer: Printer | None
    since: str | None = None
    field_filter: Callable[[Obj], bool] = lambda _obj: True
    gpu_read_at: float = 0.0

    def run(self) -> None:
        delay = RECONNECT_MIN
        while True:
            try:
                with open_socket(self.api.conn) as ws:
                    ws.send(json.dumps(self._subscription()))
                    delay = RECONNECT_MIN
                    for raw in ws:
                        self._handle(json.loads(raw))
                reason = "the server closed the connection"
            except (OSError, WebSocketException, TimeoutError, _Reconnect) as exc:
                reason = str(exc) or type(exc).__name__
            info(f"watch interrupted ({reason}); reconnecting in {delay:g}s")
            time.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX)

    def _subscription(self) -> Obj:
        msg: Obj = {"type": "subscribe", "id": "get", "cluster": self.q.cluster, "topic": self.q.kind.value}
        if self.q.namespace:
            msg["namespace"] = self.q.namespace
        if self.q.label_selector:
            msg["labelSelector"] = self.q.label_selector
        if self.since:
            msg["since"] = self.since
        return msg

    def _handle(self, msg: Obj) -> None:
        kind = msg.get("type")
        if kind == "error":
            self._error(msg)
        elif kind == "snapshot":
            self._snapshot([o for o in msg.get("objects") or [] if self.field_filter(o)])
        elif kind == "resync":
            info("resync: the server could not replay what was missed; the current state follows")
            self._resync([o for o in msg.get("objects") or [] if self.field_filter(o)])
        elif kind == "event":
            self._event(str(msg.get("event")), msg.get("object") or {})
        else:
            return  # subscribed, ping, pong
        self.since = str(msg.get("id") or self.since or "") or None

    def _error(self, msg: Obj) -> None:
        code, text = str(msg.get("code") or "error"), str(msg.get("message") or "")
        if code in ("unavailable", "internal"):
            raise _Reconnect(f"{code}: {text}")
        exit_code = WS_ERROR_EXIT.get(code, ExitCode.usage)
        raise CliError(text or code, exit_code, code=code)

    def _snapshot(self, objects: list[Obj]) -> None:
        # The list printed before subscribing and this snapshot may differ by what changed in between.
        current = {_key(o): o for o in objects}
        for key, obj in current.items():
            if key not in self.known:
                self._emit("ADDED", obj)
            elif self.known[key] != _rv(obj):
                self._emit("MODIFIED", obj)
        for key in [k for k in self.known if k not in current]:
            self.known.pop(key)
            self._emit_deleted(key)
        self.known.update({k: _rv(o) for k, o in current.items()})

    def _resync(self, objects: list[Obj]) -> None:
        if self.q.kind is Kind.nodes:
            self.ctx.gpu_by_node = _gpu_map(self.api, self.q.cluster)
        self.known = {_key(o): _rv(o) for o in objects}
        if self.printer is not None:
            self.printer.header()
        for obj in objects:
            self._emit("RESYNC", obj)

    def _event(self, event: str, obj: Obj) -> None:
        key = _key(obj)
        if event != "DELETED" and not self.field_filter(obj):
            # Like a Kubernetes watch: an object that stops matching the field selector leaves the view.
            if self.known.pop(key, None) is not None:
                self._emit("DELETED", obj)
            return
        if event == "DELETED":
            if self.known.pop(key, None) is None and self.q.field_selector:
                return  # never shown (filtered out), so nothing to remove
        else:
            event = "ADDED" if key not in self.known and event == "MODIFIED" else event
            self.known[key] = _rv(obj)
        if self.q.kind is Kind.nodes and time.monotonic() - self.gpu_read_at >= GPU_REFRESH_SECONDS:
            # Node heartbeats make many events on a big cluster, and a status read costs ~0.3 s there
            # (docs/realtime.md): the GPU column may lag by this much rather than flood the API.
            self.ctx.gpu_by_node = _gpu_map(self.api, self.q.cluster)
            self.gpu_read_at = time.monotonic()
        self._emit(event, obj)

    def _emit(self, event: str, obj: Obj) -> None:
        emit(self.fmt, self.printer, self.q.kind, self.ctx, event, obj)

    def _emit_deleted(self, key: str) -> None:
        kind_part, _, path = key.partition("|")
        ns, _, name = path.rpartition("/")
        meta: Obj = {"name": name} | ({"namespace": ns} if ns else {})
        self._emit("DELETED", {"kind": kind_part, "metadata": meta})


def emit(
    fmt: OutputFormat, printer: Printer | None, kind: Kind, ctx: RowContext, event: str, obj: Obj
) -> None:
    """One watch line: a table row after its EVENT, or one JSON line / one YAML document."""
    if fmt is OutputFormat.table and printer is not None:
        printer.line([event, *VIEWS[kind].row(obj, ctx)])
        return
    record = {"event": event, "object": obj}
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(record, sort_keys=True, default=str) + "\n")
    else:
        sys.stdout.write(
            "---\n" + yaml.safe_dump(json.loads(json.dumps(record, default=str)), sort_keys=True)
        )
    sys.stdout.flush()


def _field_filter(selector: str | None) -> Callable[[Obj], bool]:
    """The WebSocket filters by namespace and labels only; the field selector is applied here, with the
    same parser the read API uses (so `--watch` and the list agree)."""
    if not selector:
        return lambda _obj: True
    from podium_shared.kube.selectors import parse_field_selector  # noqa: PLC0415 - watch only

    parsed = parse_field_selector(selector)
    return parsed.matches


# -------------------------------------------------------------------------------------------- commands


def register(root: typer.Typer) -> None:
    root.command("get")(get)
    root.command("status")(status)


def get(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(case_sensitive=False, help="what to list")],
    cluster: Annotated[str, typer.Option(help="registered cluster name")] = "local",
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help=f"namespace (default {DEFAULT_NAMESPACE!r})")
    ] = None,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="every namespace")] = False,
    selector: Annotated[
        str | None, typer.Option("--selector", "-l", help="label selector, e.g. app=web")
    ] = None,
    field_selector: Annotated[
        str | None, typer.Option("--field-selector", help="e.g. spec.nodeName=n1, status.phase!=Running")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=1000, help="objects per request; every page is read")
    ] = 500,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="then print every change until Ctrl-C")
    ] = False,
    output: OutputOpt = None,
) -> None:
    """List pods, deployments, nodes, services, jobs, trainingjobs or events, optionally live."""
    if namespace and all_namespaces:
        raise CliError("give either --namespace or --all-namespaces", ExitCode.usage, code="usage")
    # Nodes are cluster-scoped: no namespace at all.
    ns = None if kind is Kind.nodes or all_namespaces else (namespace or DEFAULT_NAMESPACE)
    q = Query(cluster, kind, ns, selector, field_selector, limit)
    fmt = output_format(ctx, output)
    with client(ctx) as api:
        items, envelope = list_all(api, q)
        objects = [i.get("object") or {} for i in items]
        row_ctx = RowContext(_gpu_map(api, cluster) if kind is Kind.nodes else {})
        printer = _print_list(fmt, q, items, objects, envelope, row_ctx, watch=watch)
        if not watch:
            return
        w = Watch(api, q, fmt, row_ctx, {_key(o): _rv(o) for o in objects}, printer,
                  field_filter=_field_filter(field_selector))  # fmt: skip
        try:
            w.run()
        except KeyboardInterrupt:
            raise typer.Exit(0) from None


def _print_list(
    fmt: OutputFormat, q: Query, items: list[Obj], objects: list[Obj], envelope: Obj, ctx: RowContext,
    *, watch: bool,
) -> Printer | None:  # fmt: skip
    view = VIEWS[q.kind]
    if fmt is not OutputFormat.table:
        if watch:
            for obj in objects:
                emit(fmt, None, q.kind, ctx, "LISTED", obj)
        else:
            render({"cluster": q.cluster, "kind": q.kind.value, "total": len(items), "items": items,
                    "snapshot_age_seconds": envelope.get("snapshot_age_seconds")}, fmt)  # fmt: skip
        return None
    rows = [view.row(o, ctx) for o in objects]
    headers = ("EVENT", *view.headers) if watch else view.headers
    if watch:
        rows = [["LISTED", *r] for r in rows]
    printer = Printer(headers, rows)
    if rows or watch:
        printer.header()
        for row in rows:
            printer.line(row)
    if not rows:
        where = f" in namespace {q.namespace}" if q.namespace else ""
        info(f"No {q.kind.value} found{where} in cluster {q.cluster}.")
    if envelope.get("snapshot_age_seconds") is None:
        info(f"note: cluster {q.cluster} has no snapshot yet (is the watcher running?)")
    return printer


STATUS_HEADERS = ("NODE", "STATUS", "INSTANCE-TYPE", "NODE-GROUP", "GPU-CAPACITY", "ALLOCATABLE", "REQUESTED",
                  "FREE", "PODS")  # fmt: skip

GPU_FIELDS = ("gpu_capacity", "gpu_allocatable", "gpu_requested", "gpu_free")


def status(
    ctx: typer.Context,
    cluster: Annotated[str, typer.Option(help="registered cluster name")] = "local",
    output: OutputOpt = None,
) -> None:
    """GPU capacity, allocatable, requested and free per node, with cluster totals."""
    with client(ctx) as api:
        data = api.get(f"/clusters/{cluster}/status")
    fmt = output_format(ctx, output)
    if fmt is not OutputFormat.table:
        render(data, fmt)
        return
    rows = []
    for n in data.get("nodes") or []:
        state = ("Ready" if n.get("ready") else "NotReady") + (
            ",SchedulingDisabled" if n.get("unschedulable") else ""
        )
        figures = [str(n.get(k, 0)) for k in (*GPU_FIELDS, "pods")]
        rows.append([str(n.get("name")), state, str(n.get("instance_type") or "-"), _group(n), *figures])
    t = data.get("totals") or {}
    total = f"TOTAL ({t.get('ready_nodes', 0)}/{t.get('nodes', 0)} ready)"
    rows.append([total, "", "", "", *(str(t.get(k, 0)) for k in GPU_FIELDS), ""])
    printer = Printer(STATUS_HEADERS, rows)
    printer.header()
    for row in rows:
        printer.line(row)
    pending = t.get("gpu_pending_unscheduled") or 0
    if pending:
        info(f"{pending} GPU(s) requested by pods no node has taken yet")
    age = data.get("snapshot_age_seconds")
    info(
        f"cluster {cluster}: snapshot age " + ("unknown (no snapshot yet)" if age is None else f"{age:.1f}s")
    )


def _group(node: Obj) -> str:
    group = node.get("node_group")
    if not group:
        return "-"
    return f"{group} ({node['node_group_kind']})" if node.get("node_group_kind") else str(group)
