// Selected runs on one chart per metric (GET /training/compare aligns their histories by step).
import { useQuery } from "@tanstack/react-query";
import { Card, Select, Space, Spin } from "antd";
import { lazy, Suspense, useMemo } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ErrorAlert } from "../../components/ErrorAlert";
import { PageHeader } from "../../components/PageHeader";
import type { Series } from "../../components/LineChart";
import { api, call } from "../../lib/api/client";
import { useHistoryCluster } from "./useRuns";

const LineChart = lazy(() => import("../../components/LineChart"));
const METRICS = ["loss", "learning_rate", "grad_norm", "epoch"];

export default function ComparePage() {
  const [params, setParams] = useSearchParams();
  const runs = (params.get("runs") ?? "").split(",").filter(Boolean);
  const metric = params.get("metric") ?? "loss";
  const cluster = useHistoryCluster();
  const q = useQuery({
    queryKey: ["compare", cluster ?? "", runs.join(","), metric],
    enabled: cluster !== undefined && runs.length > 0,
    queryFn: () => call(api.GET("/api/v1/training/compare", { params: { query: { runs: runs.join(","), metrics: metric, cluster } } })),
  });
  const series = useMemo<Series[]>(() => {
    const d = q.data;
    if (!d) return [];
    const byRun = d.series[metric] ?? {};
    return d.runs.map((r) => ({
      name: `${r.run_name ?? r.id}${r.experiment ? ` (${r.experiment})` : ""}`,
      points: d.steps.map((s, i) => [s, byRun[r.id]?.[i] ?? null] as [number, number | null]),
    }));
  }, [q.data, metric]);
  return (
    <>
      <PageHeader title={`Compare ${runs.length} runs`}>
        <Link to="/training/history">← Training history</Link>
      </PageHeader>
      <Space style={{ marginBottom: 12 }}>
        <label htmlFor="compare-metric">Metric</label>
        <Select id="compare-metric" aria-label="Metric" value={metric} style={{ width: 200 }} options={METRICS.map((m) => ({ value: m, label: m }))} onChange={(m: string) => { const n = new URLSearchParams(params); n.set("metric", m); setParams(n, { replace: true }); }} />
      </Space>
      <ErrorAlert error={q.error} />
      {runs.length === 0 && <p role="status">Select runs in the training history to compare them.</p>}
      {q.isLoading && <Spin aria-label="Loading" />}
      {q.data && (
        <Card size="small">
          <Suspense fallback={<Spin aria-label="Loading the chart" />}>
            <LineChart title={metric} series={series} height={360} testid="compare-chart" />
          </Suspense>
        </Card>
      )}
    </>
  );
}
