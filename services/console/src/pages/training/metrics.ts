// Chart series from the metrics API's points (Lens's shape): one series per metric and source, by
// iteration; throughput in steps per second between consecutive logged steps (Trainer logs no per-step
// rate; the final train_*_per_second figures are shown as numbers beside the charts).
import type { Series } from "../../components/LineChart";

export interface Point {
  metric_name: string;
  value: number;
  timestamp: number; // ms
  iteration: number;
  data_source: string;
}

export const CHARTED = ["loss", "learning_rate"] as const;
export const SUMMARY = ["train_samples_per_second", "train_steps_per_second", "train_runtime", "train_loss"] as const;

const label = (metric: string, source: string) => (source === "log" ? metric : `${metric} (${source})`);

/** Series of one metric, points by iteration, ascending: the kept log's when it has any (a linked MLflow
 * run repeats the same values as source `mlflow`), else one series per source. */
export function seriesOf(points: Point[], metric: string): Series[] {
  const by = new Map<string, [number, number][]>();
  const fromLog = points.some((p) => p.metric_name === metric && p.data_source === "log");
  for (const p of points) {
    if (p.metric_name !== metric || (fromLog && p.data_source !== "log")) continue;
    const k = label(metric, p.data_source);
    let list = by.get(k);
    if (!list) by.set(k, (list = []));
    list.push([p.iteration, p.value]);
  }
  return Array.from(by, ([name, pts]) => ({ name, points: pts.sort((a, b) => a[0] - b[0]) }));
}

/** Steps per second between consecutive `loss` points of the log (iteration and timestamp both grow). */
export function throughput(points: Point[]): Series[] {
  const steps = points
    .filter((p) => p.metric_name === "loss" && p.data_source === "log")
    .sort((a, b) => a.iteration - b.iteration || a.timestamp - b.timestamp);
  const out: [number, number][] = [];
  for (let i = 1; i < steps.length; i++) {
    const a = steps[i - 1]!;
    const b = steps[i]!;
    const dt = (b.timestamp - a.timestamp) / 1000;
    if (b.iteration > a.iteration && dt > 0) out.push([b.iteration, Number(((b.iteration - a.iteration) / dt).toFixed(3))]);
  }
  return out.length ? [{ name: "steps/s", points: out }] : [];
}

/** The latest value of each summary metric (the final train_* figures), when present. */
export function latest(points: Point[], names: readonly string[]): Record<string, number> {
  const out: Record<string, { v: number; t: number }> = {};
  for (const p of points) {
    if (!names.includes(p.metric_name)) continue;
    const cur = out[p.metric_name];
    if (!cur || p.timestamp >= cur.t) out[p.metric_name] = { v: p.value, t: p.timestamp };
  }
  return Object.fromEntries(Object.entries(out).map(([k, x]) => [k, x.v]));
}
