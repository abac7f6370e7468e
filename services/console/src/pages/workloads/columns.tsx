// The columns of each workloads list (one definition per kind, all rendered by the shared DataTable).
import { ToneTag } from "../../components/Tone";
import type { Tone } from "../../components/Tone";
import type { Column } from "../../components/DataTable";
import type { Topic } from "../../lib/live";
import { age, externalAddress, lastCondition, meta, podPhase, podReady, restarts } from "./k8s";
import type { K8s } from "./k8s";

const name: Column<K8s> = { key: "name", title: "Name", value: (o) => meta(o).name, width: 280, defaultSort: "ascend" };
const ns: Column<K8s> = { key: "namespace", title: "Namespace", value: (o) => meta(o).namespace ?? "" };
const created: Column<K8s> = { key: "age", title: "Age", value: (o) => meta(o).creationTimestamp ?? "", render: (o) => age(meta(o).creationTimestamp), width: 80 };

const PHASE_TONES: Record<string, Tone> = { Running: "ok", Pending: "warn", Failed: "bad", Succeeded: "info", Terminating: "warn" };

export const WORKLOAD_COLUMNS: Record<string, Column<K8s>[]> = {
  pods: [
    name, ns,
    { key: "phase", title: "Phase", value: podPhase, width: 120, render: (o) => <ToneTag tone={PHASE_TONES[podPhase(o)] ?? "neutral"}>{podPhase(o)}</ToneTag> },
    { key: "ready", title: "Ready", value: (o) => (podReady(o) ? "yes" : "no"), width: 80 },
    { key: "node", title: "Node", value: (o) => String(o.spec?.nodeName ?? ""), width: 240 },
    { key: "restarts", title: "Restarts", value: restarts, width: 90 },
    { key: "business", title: "Business", value: (o) => meta(o).labels?.business ?? "", width: 120 },
    created,
  ],
  deployments: [
    name, ns,
    { key: "ready", title: "Ready", value: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, width: 90 },
    { key: "available", title: "Available", value: (o) => Number(o.status?.availableReplicas ?? 0), width: 100 },
    { key: "type", title: "Type", value: (o) => meta(o).labels?.["deployment-type"] ?? "", width: 120 },
    { key: "engine", title: "Engine", value: (o) => meta(o).labels?.["podium.dev/engine"] ?? "", width: 100 },
    created,
  ],
  services: [
    name, ns,
    { key: "type", title: "Type", value: (o) => String(o.spec?.type ?? ""), width: 120 },
    { key: "clusterIP", title: "Cluster IP", value: (o) => String(o.spec?.clusterIP ?? ""), width: 130 },
    { key: "address", title: "External address", value: externalAddress, width: 240 },
    { key: "ports", title: "Ports", value: (o) => ((o.spec?.ports ?? []) as { port: number; protocol?: string }[]).map((p) => `${p.port}/${p.protocol ?? "TCP"}`).join(", ") },
    created,
  ],
  jobs: [
    name, ns,
    { key: "completions", title: "Completions", value: (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`, width: 120 },
    { key: "active", title: "Active", value: (o) => Number(o.status?.active ?? 0), width: 80 },
    { key: "failed", title: "Failed", value: (o) => Number(o.status?.failed ?? 0), width: 80 },
    { key: "state", title: "State", value: lastCondition, width: 120 },
    created,
  ],
  trainingjobs: [
    name, ns,
    { key: "kind", title: "Kind", value: (o) => String(o.kind ?? ""), width: 180 },
    { key: "state", title: "State", value: lastCondition, width: 140 },
    created,
  ],
  events: [
    { key: "last", title: "Last seen", value: (o) => String(o.lastTimestamp ?? o.eventTime ?? meta(o).creationTimestamp ?? ""), render: (o) => age(String(o.lastTimestamp ?? o.eventTime ?? meta(o).creationTimestamp ?? "")), width: 100, defaultSort: "descend" },
    { key: "type", title: "Type", value: (o) => String(o.type ?? ""), width: 90, render: (o) => <ToneTag tone={o.type === "Warning" ? "warn" : "neutral"}>{String(o.type ?? "")}</ToneTag> },
    { key: "reason", title: "Reason", value: (o) => String(o.reason ?? ""), width: 140 },
    { key: "object", title: "Object", value: (o) => { const io = o.involvedObject as { kind?: string; name?: string } | undefined; return `${io?.kind ?? ""}/${io?.name ?? ""}`; }, width: 260 },
    ns,
    { key: "message", title: "Message", value: (o) => String(o.message ?? ""), width: 420 },
  ],
};

export const WORKLOAD_KINDS: { kind: Topic; label: string }[] = [
  { kind: "pods", label: "Pods" },
  { kind: "deployments", label: "Deployments" },
  { kind: "services", label: "Services" },
  { kind: "jobs", label: "Jobs" },
  { kind: "trainingjobs", label: "Training jobs" },
  { kind: "events", label: "Events" },
];
