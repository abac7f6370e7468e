import { Link } from "react-router-dom";
import type { Column } from "../../components/DataTable";
import { OperationProgress, StatusTag } from "../../components/OperationStatus";
import type { Operation } from "../../lib/api/types";

export const operationColumns: Column<Operation>[] = [
  { key: "created", title: "Created", value: (o) => o.created_at, render: (o) => new Date(o.created_at).toLocaleString(), width: 180, defaultSort: "descend" },
  { key: "id", title: "Operation", value: (o) => o.id, render: (o) => <Link to={`/operations/${o.id}`}>{o.id.slice(0, 8)}</Link>, width: 110 },
  { key: "kind", title: "Kind", value: (o) => o.kind, width: 170 },
  { key: "cluster", title: "Cluster", value: (o) => o.cluster, width: 110 },
  { key: "namespace", title: "Namespace", value: (o) => o.namespace ?? "", width: 120 },
  { key: "status", title: "Status", value: (o) => o.status, render: (o) => <StatusTag status={o.status} />, width: 110 },
  { key: "progress", title: "Progress", value: (o) => (o.progress ? o.progress.succeeded + o.progress.failed : ""), render: (o) => <OperationProgress op={o} />, width: 200 },
  { key: "attempts", title: "Attempts", value: (o) => o.attempts, width: 90 },
  { key: "by", title: "Requested by", value: (o) => o.requested_by, width: 130 },
];

export interface OpFilter {
  status?: string;
  kind?: string;
  cluster?: string;
  requested_by?: string;
  parent_id?: string;
}

/** Whether a live operation belongs in a list read with these filters. */
export function matches(op: Operation, f: OpFilter): boolean {
  return (
    (!f.status || op.status === f.status) &&
    (!f.kind || op.kind === f.kind) &&
    (!f.cluster || op.cluster === f.cluster) &&
    (!f.requested_by || op.requested_by === f.requested_by) &&
    (f.parent_id ? op.parent_id === f.parent_id : true)
  );
}
