// The history table's columns: fixed ones around the dynamic tag columns (in the API's order), with the
// colour rules of rules.ts and tooltips saying what each colour means.
import { Tooltip } from "antd";
import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import type { Column } from "../../components/DataTable";
import { ToneTag } from "../../components/Tone";
import type { Tone } from "../../components/Tone";
import { formatDuration } from "../training/jobs";
import { instanceTone, replicaTone, RULES, samplesTone } from "./rules";
import type { Run } from "./useRuns";

const RUN_TONES: Record<string, Tone> = { RUNNING: "info", SCHEDULED: "neutral", FINISHED: "ok", FAILED: "bad", KILLED: "warn" };

function toned(tone: Tone, text: string, tip: string, testid: string): ReactNode {
  return (
    <Tooltip title={tip}>
      <span tabIndex={0}>
        <ToneTag tone={tone} data-testid={testid} data-tone={tone}>{text}</ToneTag>
      </span>
    </Tooltip>
  );
}

function tagColumn(key: string): Column<Run> {
  const value = (r: Run) => r.tags[key] ?? "";
  let render: ((r: Run) => ReactNode) | undefined;
  if (key === "instance_type") render = (r) => (value(r) ? toned(instanceTone(value(r)), value(r), RULES.instance_type, "cell-instance_type") : "");
  else if (key === "replica_count") render = (r) => (value(r) ? toned(replicaTone(value(r)), value(r), RULES.replica_count, "cell-replica_count") : "");
  else render = (r) => (value(r) ? <Tooltip title={`${key}: ${value(r)}`}><span>{value(r)}</span></Tooltip> : "");
  const hint = key === "instance_type" ? RULES.instance_type : key === "replica_count" ? RULES.replica_count : `tag ${key}`;
  return { key: `tag:${key}`, title: key, value, render, width: 130, wrapTitle: true, hint };
}

const num = (v: number | undefined, digits = 3) => (v === undefined ? "" : String(Number(v.toFixed(digits))));

export function historyColumns(tagColumns: string[], actions: (r: Run) => ReactNode): Column<Run>[] {
  return [
    { key: "experiment", title: "Experiment", value: (r) => r.experiment ?? r.experiment_id, width: 160, wrapTitle: true },
    {
      key: "run", title: "Run Name", width: 200, wrapTitle: true, value: (r) => r.run_name ?? r.id,
      render: (r) => <Link to={`/training/history/${encodeURIComponent(r.id)}`} data-testid={`run-link-${r.id}`}>{r.run_name ?? r.id}</Link>,
    },
    { key: "status", title: "Status", value: (r) => r.status, width: 100, render: (r) => <ToneTag tone={RUN_TONES[r.status] ?? "neutral"} data-testid="run-status" data-status={r.status}>{r.status}</ToneTag> },
    ...tagColumns.map(tagColumn),
    {
      key: "samples", title: "Samples/s", width: 100, wrapTitle: true, hint: RULES.samples,
      value: (r) => r.metrics.train_samples_per_second ?? null,
      render: (r) => {
        const v = r.metrics.train_samples_per_second;
        return v === undefined ? "" : toned(samplesTone(v), num(v), RULES.samples, "cell-samples");
      },
    },
    { key: "steps", title: "Steps/s", width: 90, wrapTitle: true, value: (r) => r.metrics.train_steps_per_second ?? null, render: (r) => num(r.metrics.train_steps_per_second) },
    { key: "start", title: "Start Time", width: 170, wrapTitle: true, defaultSort: "descend", value: (r) => r.start_time ?? "", render: (r) => (r.start_time ? new Date(r.start_time).toLocaleString() : "") },
    { key: "duration", title: "Duration", width: 100, value: (r) => r.duration_seconds ?? null, render: (r) => formatDuration(r.duration_seconds) },
    { key: "actions", title: "Actions", width: 110, value: () => "", render: actions },
  ];
}
