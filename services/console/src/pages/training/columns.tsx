// The training jobs table (one set of column definitions for the shared DataTable).
import { Link } from "react-router-dom";
import type { Column } from "../../components/DataTable";
import { ToneTag } from "../../components/Tone";
import type { Tone } from "../../components/Tone";
import { age, meta } from "../workloads/k8s";
import type { K8s } from "../workloads/k8s";
import { durationSeconds, formatDuration, jobStatus, jobType, modelOf, replicasOf, settingsOf } from "./jobs";

export const STATUS_TONES: Record<string, Tone> = { Running: "info", Created: "neutral", Pending: "warn", Succeeded: "ok", Failed: "bad", Terminating: "warn" };

export function StatusTag({ status }: { status: string }) {
  return <ToneTag tone={STATUS_TONES[status] ?? "neutral"} data-testid="job-status" data-status={status}>{status}</ToneTag>;
}

export function trainingColumns(cluster: string): Column<K8s>[] {
  const c = encodeURIComponent(cluster);
  return [
    {
      key: "name", title: "Name", width: 220, defaultSort: "ascend", value: (o) => meta(o).name,
      render: (o) => <Link to={`/c/${c}/training/${encodeURIComponent(meta(o).namespace ?? "")}/${encodeURIComponent(meta(o).name)}`}>{meta(o).name}</Link>,
    },
    { key: "namespace", title: "Namespace", width: 120, value: (o) => meta(o).namespace ?? "" },
    { key: "status", title: "Status", width: 120, value: jobStatus, render: (o) => <StatusTag status={jobStatus(o)} /> },
    { key: "type", title: "Type", width: 110, value: jobType },
    { key: "model", title: "Model", width: 240, value: modelOf },
    { key: "dataset", title: "Dataset", width: 180, value: (o) => settingsOf(o).llamafactory?.dataset ?? "" },
    { key: "instance", title: "Instance type", width: 150, value: (o) => settingsOf(o).instance_type ?? o.spec?.nodeSelector?.["node.kubernetes.io/instance-type"] ?? "" },
    { key: "replicas", title: "Replicas", width: 90, value: replicasOf },
    { key: "age", title: "Age", width: 80, value: (o) => meta(o).creationTimestamp ?? "", render: (o) => age(meta(o).creationTimestamp) },
    {
      key: "duration", title: "Duration", width: 100,
      value: (o) => durationSeconds(o.status?.startTime, o.status?.completionTime) ?? -1,
      render: (o) => formatDuration(durationSeconds(o.status?.startTime, o.status?.completionTime)),
    },
  ];
}
