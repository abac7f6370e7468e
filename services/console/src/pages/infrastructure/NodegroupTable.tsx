// The EKS node groups: AWS's view (status, types, sizes, health) beside the Kubernetes nodes each group
// has in the live snapshot, with Scale and Delete for operators.
import { Button, Space, Tooltip } from "antd";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import type { Operation } from "../../lib/api/types";
import { AwsStatus, RowOperation } from "./status";
import type { Nodegroup } from "./types";

interface Props {
  groups: Nodegroup[];
  loading: boolean;
  running: Map<string, Operation>;
  canOperate: boolean;
  onScale: (g: Nodegroup) => void;
  onDelete: (g: Nodegroup) => void;
}

function issues(g: Nodegroup): string {
  return g.health_issues.map((h) => `${String(h.code ?? "")}: ${String(h.message ?? "")}`).join("; ");
}

export function NodegroupTable({ groups, loading, running, canOperate, onScale, onDelete }: Props) {
  const columns: Column<Nodegroup>[] = [
    { key: "name", title: "Name", value: (g) => g.name, width: 180, defaultSort: "ascend" },
    {
      key: "status", title: "Status", value: (g) => g.status, width: 240,
      render: (g) => (
        <Space direction="vertical" size={0}>
          <AwsStatus status={g.status} testid={`ng-status-${g.name}`} />
          <RowOperation op={running.get(g.name)} />
        </Space>
      ),
    },
    { key: "types", title: "Instance Types", value: (g) => g.instance_types.join(", "), width: 150 },
    { key: "capacity", title: "Capacity", value: (g) => g.capacity_type, width: 110 },
    {
      key: "sizes", title: "Min / Max / Desired", value: (g) => g.desired, width: 150,
      render: (g) => <span data-testid={`ng-sizes-${g.name}`}>{`${g.min ?? "?"} / ${g.max ?? "?"} / ${g.desired ?? "?"}`}</span>,
    },
    {
      key: "nodes", title: "Nodes (ready)", value: (g) => g.nodes.length, width: 120,
      render: (g) => (
        <span data-testid={`ng-nodes-${g.name}`} data-nodes={g.nodes.length}>
          {g.nodes.length} ({g.nodes.filter((n) => n.ready).length})
        </span>
      ),
    },
    {
      key: "gpus", title: "GPUs", value: (g) => g.gpus, width: 80,
      render: (g) => <span data-testid={`ng-gpus-${g.name}`} data-gpus={g.gpus}>{g.gpus}</span>,
    },
    {
      key: "health", title: "Health issues", value: (g) => issues(g), width: 220,
      render: (g) => (g.health_issues.length ? <Tooltip title={issues(g)}><span>{issues(g)}</span></Tooltip> : "none"),
    },
  ];
  if (canOperate) {
    columns.push({
      key: "actions", title: "Actions", value: () => "", width: 170,
      render: (g) => (
        <Space>
          <Button size="small" data-testid={`ng-scale-${g.name}`} aria-label={`Scale ${g.name}`} onClick={() => onScale(g)}>
            Scale
          </Button>
          <Button size="small" danger data-testid={`ng-delete-${g.name}`} aria-label={`Delete ${g.name}`} onClick={() => onDelete(g)}>
            Delete
          </Button>
        </Space>
      ),
    });
  }
  return (
    <DataTable
      columns={columns}
      rows={groups}
      rowKey={(g) => `ng-${g.name}`}
      loading={loading}
      testid="nodegroup-table"
      empty="No node groups"
    />
  );
}
