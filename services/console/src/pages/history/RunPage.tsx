// One MLflow run: summary, metric charts (each metric's history by step), params, tags, and the
// Kubernetes job it came from when the server could link it.
import { Card, Col, Descriptions, Row, Space, Spin } from "antd";
import { lazy, Suspense, useCallback, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { PageHeader } from "../../components/PageHeader";
import { useSession } from "../../lib/auth/session";
import { formatDuration } from "../training/jobs";
import { DeleteRun } from "./DeleteRun";
import { useHistoryCluster, useRun } from "./useRuns";

const LineChart = lazy(() => import("../../components/LineChart"));
const h2 = (t: string) => <h2 style={{ fontSize: 16, margin: 0 }}>{t}</h2>;
type KV = { key: string; value: string };
const KV_COLUMNS: Column<KV>[] = [
  { key: "key", title: "Name", value: (x) => x.key, width: 260, defaultSort: "ascend" },
  { key: "value", title: "Value", value: (x) => x.value, width: 480 },
];
const kv = (o: Record<string, string | number>) => Object.entries(o).map(([key, value]) => ({ key, value: String(value) }));

export default function RunPage() {
  const { runId = "" } = useParams();
  const cluster = useHistoryCluster();
  const { canOperate } = useSession();
  const q = useRun(cluster, runId);
  const [gone, setGone] = useState(false);
  const onDeleted = useCallback(() => setGone(true), []);
  const run = q.data;
  const job = run?.job;
  return (
    <>
      <PageHeader title={`Run ${run?.run_name ?? runId}`} extra={run && canOperate && cluster && !gone ? <DeleteRun cluster={cluster} runId={run.id} label={run.run_name ?? run.id} onDeleted={onDeleted} /> : null}>
        <Link to="/training/history">← Training history</Link>
      </PageHeader>
      {q.isLoading && <Spin aria-label="Loading the run" />}
      <ErrorAlert error={q.error} />
      {gone && <p role="status" data-testid="run-deleted">This run was deleted.</p>}
      {run && (
        <Space direction="vertical" size="middle" style={{ width: "100%" }}>
          <Descriptions size="small" bordered column={{ xs: 1, md: 2, xl: 3 }} data-testid="run-summary">
            <Descriptions.Item label="Experiment">{run.experiment ?? run.experiment_id}</Descriptions.Item>
            <Descriptions.Item label="Status">{run.status}</Descriptions.Item>
            <Descriptions.Item label="Started">{run.start_time ? new Date(run.start_time).toLocaleString() : ""}</Descriptions.Item>
            <Descriptions.Item label="Duration">{formatDuration(run.duration_seconds)}</Descriptions.Item>
            <Descriptions.Item label="Run id"><code>{run.id}</code></Descriptions.Item>
            <Descriptions.Item label="Kubernetes job">
              {job?.namespace ? (
                <Link data-testid="run-job-link" to={`/c/${encodeURIComponent(job.cluster)}/training/${encodeURIComponent(job.namespace)}/${encodeURIComponent(job.name)}`}>
                  {`${job.cluster}/${job.namespace}/${job.name}`}
                </Link>
              ) : (
                "not known"
              )}
            </Descriptions.Item>
          </Descriptions>
          <Card size="small" title={h2("Metrics")}>
            {Object.keys(run.metric_history).length === 0 && <p>No metrics logged.</p>}
            <Suspense fallback={<Spin aria-label="Loading charts" />}>
              <Row gutter={16}>
                {Object.entries(run.metric_history)
                  .filter(([, pts]) => pts.length > 1)
                  .map(([name, pts]) => (
                    <Col key={name} xs={24} xl={12}>
                      <LineChart title={name} testid={`run-chart-${name}`} series={[{ name, points: pts.map((p) => [p.step, p.value] as [number, number]) }]} />
                    </Col>
                  ))}
              </Row>
            </Suspense>
            <DataTable testid="run-metrics" columns={KV_COLUMNS} rows={kv(run.metrics)} rowKey={(x) => x.key} empty="No metrics" />
          </Card>
          <Card size="small" title={h2("Parameters")}>
            <DataTable testid="run-params" columns={KV_COLUMNS} rows={kv(run.params)} rowKey={(x) => x.key} filterable empty="No parameters" />
          </Card>
          <Card size="small" title={h2("Tags")}>
            <DataTable testid="run-tags" columns={KV_COLUMNS} rows={kv(run.all_tags)} rowKey={(x) => x.key} filterable empty="No tags" />
          </Card>
        </Space>
      )}
    </>
  );
}
