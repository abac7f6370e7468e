// GPU dashboard: the server's status read (GPUs counted like the scheduler), re-read whenever the live
// nodes or pods topics change — never on a timer.
import { useQuery } from "@tanstack/react-query";
import { Card, Col, Row, Statistic } from "antd";
import { ToneTag } from "../../components/Tone";
import { lazy, Suspense, useMemo } from "react";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { GpuBar } from "../../components/GpuBar";
import { LiveBadge } from "../../components/LiveBadge";
import { PageHeader } from "../../components/PageHeader";
import { api, call } from "../../lib/api/client";
import type { NodeStatus } from "../../lib/api/types";
import { useCluster } from "../../lib/clusters";
import { useLiveChange } from "../../lib/live";
import { groupTotals } from "./groups";
import type { GroupTotals } from "./groups";

const GroupChart = lazy(() => import("./GroupChart"));

const nodeColumns: Column<NodeStatus>[] = [
  { key: "name", title: "Node", value: (n) => n.name, width: 260, defaultSort: "ascend" },
  { key: "type", title: "Instance type", value: (n) => n.instance_type },
  { key: "group", title: "Node group", value: (n) => n.node_group },
  {
    key: "ready", title: "Ready", value: (n) => (n.ready ? "Ready" : "NotReady"), width: 120,
    render: (n) => <ToneTag tone={n.ready ? "ok" : "bad"}>{n.ready ? "Ready" : "NotReady"}{n.unschedulable ? ", cordoned" : ""}</ToneTag>,
  },
  { key: "cap", title: "Capacity", value: (n) => n.gpu_capacity, width: 100 },
  { key: "alloc", title: "Allocatable", value: (n) => n.gpu_allocatable, width: 110 },
  { key: "req", title: "Requested", value: (n) => n.gpu_requested, width: 110 },
  { key: "free", title: "Free", value: (n) => n.gpu_free, width: 90 },
  {
    key: "bar", title: "GPU use", value: (n) => n.gpu_requested / Math.max(1, n.gpu_allocatable), width: 200,
    render: (n) => <GpuBar label={n.name} used={n.gpu_requested} total={n.gpu_allocatable} testid={`gpu-bar-${n.name}`} />,
  },
];

const groupColumns: Column<GroupTotals>[] = [
  { key: "group", title: "Node group", value: (g) => g.group, width: 200 },
  { key: "nodes", title: "Nodes (ready)", value: (g) => g.nodes, render: (g) => `${g.nodes} (${g.ready})`, width: 120 },
  { key: "alloc", title: "Allocatable", value: (g) => g.allocatable, width: 110 },
  { key: "req", title: "Requested", value: (g) => g.requested, width: 110 },
  { key: "free", title: "Free", value: (g) => g.free, width: 90 },
  {
    key: "bar", title: "GPU use", value: (g) => g.requested / Math.max(1, g.allocatable), width: 220,
    render: (g) => <GpuBar label={g.group} used={g.requested} total={g.allocatable} testid={`group-bar-${g.group}`} />,
  },
];

export default function OverviewPage() {
  const cluster = useCluster();
  const status = useQuery({
    queryKey: ["status", cluster],
    queryFn: () => call(api.GET("/api/v1/clusters/{cluster}/status", { params: { path: { cluster } } })),
  });
  const refetch = () => void status.refetch();
  const nodesLive = useLiveChange({ cluster, topic: "nodes" }, refetch);
  useLiveChange({ cluster, topic: "pods" }, refetch);
  const data = status.data;
  const groups = useMemo(() => groupTotals(data?.nodes ?? []), [data]);
  const t = data?.totals;
  return (
    <>
      <PageHeader title={`Overview · ${cluster}`} extra={<LiveBadge view={nodesLive} />} />
      <ErrorAlert error={status.error} />
      {t && (
        <Row gutter={16} style={{ marginBottom: 16 }} data-testid="cluster-totals">
          <Col><Card size="small"><Statistic title="Nodes ready" value={`${t.ready_nodes} / ${t.nodes}`} /></Card></Col>
          <Col><Card size="small"><Statistic title="GPU capacity" value={t.gpu_capacity} data-testid="total-capacity" /></Card></Col>
          <Col><Card size="small"><Statistic title="GPU allocatable" value={t.gpu_allocatable} /></Card></Col>
          <Col><Card size="small"><Statistic title="GPU requested" value={t.gpu_requested} /></Card></Col>
          <Col><Card size="small"><Statistic title="GPU free" value={t.gpu_free} /></Card></Col>
          <Col><Card size="small"><Statistic title="Pending (unscheduled) GPUs" value={t.gpu_pending_unscheduled} /></Card></Col>
          <Col>
            <Card size="small">
              <Statistic title="Snapshot age" value={data.snapshot_age_seconds === null || data.snapshot_age_seconds === undefined ? "none" : `${data.snapshot_age_seconds.toFixed(1)} s`} />
            </Card>
          </Col>
        </Row>
      )}
      {t && (
        <div data-testid="totals-data" hidden data-capacity={t.gpu_capacity} data-allocatable={t.gpu_allocatable} data-requested={t.gpu_requested} data-free={t.gpu_free} />
      )}
      <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Node groups</h2>} style={{ marginBottom: 16 }}>
        <Suspense fallback={null}>{groups.length > 0 && <GroupChart groups={groups} />}</Suspense>
        <DataTable columns={groupColumns} rows={groups} rowKey={(g) => `group-${g.group}`} testid="group-table" loading={status.isLoading} empty="No nodes" />
      </Card>
      <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Nodes</h2>}>
        <DataTable columns={nodeColumns} rows={data?.nodes ?? []} rowKey={(n) => `node-${n.name}`} filterable testid="node-table" loading={status.isLoading} empty="No nodes" />
      </Card>
    </>
  );
}
