// A pool's pods, each with a business drop-down: choosing one submits assign_pod (the pod drains, then
// moves); the move's live status shows beside the pod.
import { Select } from "antd";
import { ToneTag } from "../../components/Tone";
import { useState } from "react";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveOperation } from "../../components/OperationStatus";
import { useCommand } from "../../lib/commands";
import { meta, podPhase, podReady } from "../workloads/k8s";
import type { K8s } from "../workloads/k8s";

interface Props {
  cluster: string;
  namespace: string;
  pods: K8s[];
  businesses: string[];
  canOperate: boolean;
}

export function PoolPods({ cluster, namespace, pods, businesses, canOperate }: Props) {
  const cmd = useCommand();
  const [moves, setMoves] = useState<Record<string, string>>({});
  const options = ["unassigned", ...businesses].map((b) => ({ value: b, label: b }));
  const assign = (pod: string, business: string) =>
    cmd.mutate(
      { kind: "assign_pod", cluster, params: { namespace, pod, business } },
      { onSuccess: (op) => setMoves((m) => ({ ...m, [pod]: op.id })) },
    );
  const columns: Column<K8s>[] = [
    { key: "name", title: "Pod", value: (p) => meta(p).name, width: 260, defaultSort: "ascend" },
    { key: "phase", title: "Phase", value: podPhase, width: 110 },
    { key: "ready", title: "Ready", value: (p) => (podReady(p) ? "yes" : "no"), width: 80, render: (p) => <ToneTag tone={podReady(p) ? "ok" : "warn"}>{podReady(p) ? "ready" : "not ready"}</ToneTag> },
    {
      key: "business", title: "Business", value: (p) => meta(p).labels?.business ?? "", width: 200,
      render: (p) =>
        canOperate ? (
          <Select
            aria-label={`Business of ${meta(p).name}`}
            data-testid={`business-select-${meta(p).name}`}
            value={meta(p).labels?.business ?? "unassigned"}
            options={options}
            style={{ width: 170 }}
            onChange={(b: string) => assign(meta(p).name, b)}
          />
        ) : (
          <span data-testid={`business-${meta(p).name}`}>{meta(p).labels?.business ?? ""}</span>
        ),
    },
    {
      key: "move", title: "Last move", value: (p) => moves[meta(p).name] ?? "", width: 320,
      render: (p) => (moves[meta(p).name] ? <LiveOperation id={moves[meta(p).name]!} label="assign" /> : null),
    },
  ];
  return (
    <>
      <ErrorAlert error={cmd.error} />
      <DataTable columns={columns} rows={pods} rowKey={(p) => meta(p).name} testid="pool-pods" empty="No pods yet" />
    </>
  );
}
