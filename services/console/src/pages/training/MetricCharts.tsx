// Loss, learning rate and throughput of a job, from the metrics API (Lens's shape). Re-read when new log
// lines arrive on the `logs` topic (the collector parses metrics from those lines), never on a timer.
import { useQuery } from "@tanstack/react-query";
import { Col, Descriptions, Row, Spin } from "antd";
import { lazy, Suspense, useMemo } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { api, call } from "../../lib/api/client";
import { useLiveChange } from "../../lib/live";
import { jobLogSpec } from "./LogViewer";
import { latest, seriesOf, SUMMARY, throughput } from "./metrics";
import type { Point } from "./metrics";

const LineChart = lazy(() => import("../../components/LineChart"));

interface Props {
  cluster: string;
  namespace: string;
  name: string;
  uid: string;
}

export function MetricCharts({ cluster, namespace, name, uid }: Props) {
  const q = useQuery({
    queryKey: ["metrics", uid],
    queryFn: () =>
      call(api.GET("/api/v1/workloads/{uid}/metrics/data", { params: { path: { uid }, query: { metrics: ["loss", "learning_rate", ...SUMMARY].join(",") } } })),
  });
  useLiveChange(jobLogSpec(cluster, namespace, name), () => void q.refetch(), 1500);
  const points = ((q.data as { data?: Point[] } | undefined)?.data ?? []) as Point[];
  const charts = useMemo(
    () => [
      { title: "Loss", testid: "chart-loss", series: seriesOf(points, "loss") },
      { title: "Learning rate", testid: "chart-lr", series: seriesOf(points, "learning_rate") },
      { title: "Throughput (steps/s)", testid: "chart-throughput", series: throughput(points) },
    ],
    [points],
  );
  const summary = latest(points, SUMMARY);
  if (q.error) return <ErrorAlert error={q.error} title="Metrics could not be read" />;
  if (q.isLoading) return <Spin aria-label="Loading metrics" />;
  return (
    <section aria-label="Metrics">
      {points.length === 0 && <p role="status">No metric points yet: they appear as the job logs its steps.</p>}
      <Suspense fallback={<Spin aria-label="Loading charts" />}>
        <Row gutter={16}>
          {charts.map((c) => (
            <Col key={c.testid} xs={24} xl={8}>
              <LineChart title={c.title} series={c.series} testid={c.testid} />
            </Col>
          ))}
        </Row>
      </Suspense>
      {Object.keys(summary).length > 0 && (
        <Descriptions size="small" column={4} data-testid="train-summary" style={{ marginTop: 8 }}>
          {Object.entries(summary).map(([k, v]) => (
            <Descriptions.Item key={k} label={k}>{String(v)}</Descriptions.Item>
          ))}
        </Descriptions>
      )}
    </section>
  );
}
