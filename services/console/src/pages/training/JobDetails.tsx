// The job page's parts that render the server's summary (GET …/trainingjobs/{ns}/{name}).
import { Alert, Descriptions } from "antd";
import { Link } from "react-router-dom";
import type { components } from "../../api/schema";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import { ToneTag } from "../../components/Tone";
import { age } from "../workloads/k8s";
import { StatusTag } from "./columns";
import { formatDuration } from "./jobs";

export type JobPage = components["schemas"]["TrainingJobPage"];
type Pod = components["schemas"]["PodOut"];
type Event = components["schemas"]["EventOut"];

export function JobSummary({ job }: { job: JobPage }) {
  const s = (job.settings ?? {}) as Record<string, any>;
  const lf = (s.llamafactory ?? null) as Record<string, unknown> | null;
  return (
    <>
      <Descriptions size="small" bordered column={{ xs: 1, md: 2, xl: 3 }} data-testid="job-summary" style={{ marginBottom: 16 }}>
        <Descriptions.Item label="Status">
          <StatusTag status={job.status.phase} /> {job.status.reason ?? ""}
        </Descriptions.Item>
        <Descriptions.Item label="Type">{job.type ?? job.kind}</Descriptions.Item>
        <Descriptions.Item label="Model">{String(lf?.model ?? (s.command ? "(custom command)" : ""))}</Descriptions.Item>
        <Descriptions.Item label="Dataset">{String(lf?.dataset ?? "")}</Descriptions.Item>
        <Descriptions.Item label="Instance type">{String(s.instance_type ?? "")}</Descriptions.Item>
        <Descriptions.Item label="Nodes × GPUs">{s.replicas ? `${s.replicas} × ${s.procs_per_node ?? 1}` : ""}</Descriptions.Item>
        <Descriptions.Item label="DeepSpeed">{String(lf?.deepspeed ?? "")}</Descriptions.Item>
        <Descriptions.Item label="Started">{job.start ?? "not yet"}</Descriptions.Item>
        <Descriptions.Item label="Duration">{job.duration_seconds !== null && job.duration_seconds !== undefined ? formatDuration(job.duration_seconds) : job.start ? "running" : ""}</Descriptions.Item>
        {s.mlflow_experiment && <Descriptions.Item label="MLflow">{`${String(s.mlflow_experiment)}${s.mlflow_run_name ? ` / ${String(s.mlflow_run_name)}` : ""}`}</Descriptions.Item>}
        {job.operation_id && <Descriptions.Item label="Submitted by"><Link to={`/operations/${job.operation_id}`}>operation</Link></Descriptions.Item>}
        <Descriptions.Item label="Workload uid"><code>{job.uid}</code></Descriptions.Item>
      </Descriptions>
      {job.failure && (
        <Alert
          type="error"
          showIcon
          role="alert"
          data-testid="job-failure"
          style={{ marginBottom: 16 }}
          message={`Failed${job.failure.reason ? `: ${job.failure.reason}` : ""}`}
          description={
            <>
              {job.failure.message && <div>{job.failure.message}</div>}
              {job.failure.pods.map((p) => (
                <div key={p.name ?? ""}>{`${p.name}: exit ${p.exit_code ?? "?"} ${p.reason ?? ""} ${p.message ?? ""}`}</div>
              ))}
            </>
          }
        />
      )}
    </>
  );
}

const POD_COLUMNS: Column<Pod>[] = [
  { key: "name", title: "Pod", value: (p) => p.name, width: 260, defaultSort: "ascend" },
  { key: "role", title: "Role", value: (p) => `${p.role ?? ""}${p.index !== null && p.index !== undefined ? ` ${p.index}` : ""}`, width: 110 },
  { key: "node", title: "Node", value: (p) => p.node, width: 220 },
  { key: "phase", title: "Phase", value: (p) => p.phase, width: 110 },
  { key: "restarts", title: "Restarts", value: (p) => p.restarts, width: 90 },
  { key: "exit", title: "Exit code", value: (p) => p.exit_code, width: 90 },
  { key: "reason", title: "Reason", value: (p) => p.reason ?? "", width: 200 },
];

export function PodsTable({ pods }: { pods: Pod[] }) {
  return <DataTable testid="job-pods" columns={POD_COLUMNS} rows={pods} rowKey={(p) => p.name ?? ""} empty="No pods (yet, or any more)" />;
}

const EVENT_COLUMNS: Column<Event>[] = [
  { key: "last", title: "Last seen", value: (e) => e.last ?? "", render: (e) => age(e.last ?? undefined), width: 100, defaultSort: "descend" },
  { key: "type", title: "Type", value: (e) => e.type ?? "", width: 90, render: (e) => <ToneTag tone={e.type === "Warning" ? "warn" : "neutral"}>{e.type ?? ""}</ToneTag> },
  { key: "reason", title: "Reason", value: (e) => e.reason ?? "", width: 140 },
  { key: "object", title: "Object", value: (e) => e.object, width: 240 },
  { key: "count", title: "Count", value: (e) => e.count, width: 70 },
  { key: "message", title: "Message", value: (e) => e.message ?? "", width: 420 },
];

export function EventsTable({ events }: { events: Event[] }) {
  return <DataTable testid="job-events" columns={EVENT_COLUMNS} rows={events} rowKey={(e) => `${e.object}/${e.reason ?? ""}/${e.first ?? ""}`} empty="No events" />;
}
