// The HyperPod instance groups: status, type, current / target count and the Kubernetes nodes that have
// joined (from the live snapshot), with Scale for operators.
import { Button, Space } from "antd";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import type { Operation } from "../../lib/api/types";
import { AwsStatus, RowOperation } from "./status";
import type { InstanceGroup } from "./types";

interface Props {
  groups: InstanceGroup[];
  loading: boolean;
  running: Map<string, Operation>;
  canOperate: boolean;
  onScale: (g: InstanceGroup) => void;
}

function gpus(g: InstanceGroup): number {
  return g.nodes.reduce((sum, n) => sum + (n.kube_node?.gpu_allocatable ?? 0), 0);
}

export function InstanceGroupTable({ groups, loading, running, canOperate, onScale }: Props) {
  const columns: Column<InstanceGroup>[] = [
    { key: "name", title: "Name", value: (g) => g.name, width: 180, defaultSort: "ascend" },
    {
      key: "status", title: "Status", value: (g) => g.status, width: 240,
      render: (g) => (
        <Space direction="vertical" size={0}>
          <AwsStatus status={g.status} testid={`ig-status-${g.name}`} />
          <RowOperation op={running.get(g.name)} />
        </Space>
      ),
    },
    { key: "type", title: "Instance Type", value: (g) => g.instance_type, width: 160 },
    {
      key: "count", title: "Current / Target", value: (g) => g.current_count, width: 130,
      render: (g) => <span data-testid={`ig-count-${g.name}`}>{`${g.current_count} / ${g.target_count}`}</span>,
    },
    {
      key: "joined", title: "Kubernetes nodes", value: (g) => g.nodes.filter((n) => n.kube_node).length, width: 140,
      render: (g) => {
        const joined = g.nodes.filter((n) => n.kube_node).length;
        return <span data-testid={`ig-nodes-${g.name}`} data-nodes={joined}>{`${joined} of ${g.nodes.length}`}</span>;
      },
    },
    { key: "gpus", title: "GPUs", value: (g) => gpus(g), width: 80 },
    { key: "threads", title: "Threads / core", value: (g) => g.threads_per_core, width: 120 },
  ];
  if (canOperate) {
    columns.push({
      key: "actions", title: "Actions", value: () => "", width: 100,
      render: (g) => (
        <Button size="small" data-testid={`ig-scale-${g.name}`} aria-label={`Scale ${g.name}`} onClick={() => onScale(g)}>
          Scale
        </Button>
      ),
    });
  }
  return (
    <DataTable
      columns={columns}
      rows={groups}
      rowKey={(g) => `ig-${g.name}`}
      loading={loading}
      testid="instance-group-table"
      empty="No instance groups"
    />
  );
}
