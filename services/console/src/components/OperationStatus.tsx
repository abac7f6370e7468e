// An operation's status as it changes (live through the operations topic), with its progress and error.
import { Progress, Space } from "antd";
import { ToneTag } from "./Tone";
import type { Tone } from "./Tone";
import { Link } from "react-router-dom";
import type { Operation } from "../lib/api/types";
import { useOperation } from "../lib/live";
import { ErrorAlert } from "./ErrorAlert";

const TONES: Record<string, Tone> = {
  queued: "neutral",
  running: "info",
  retrying: "warn",
  succeeded: "ok",
  failed: "bad",
  cancelled: "neutral",
};

export function StatusTag({ status }: { status: string }) {
  return (
    <ToneTag tone={TONES[status] ?? "neutral"} data-testid="op-status" data-status={status}>
      {status}
    </ToneTag>
  );
}

export function progressPercent(op: Operation): number | null {
  const p = op.progress as { total?: number; done?: number; succeeded?: number; failed?: number; cancelled?: number } | null | undefined;
  if (!p || !p.total) return null;
  const done = p.done ?? (p.succeeded ?? 0) + (p.failed ?? 0) + (p.cancelled ?? 0);
  return Math.round((done / p.total) * 100);
}

export function OperationProgress({ op }: { op: Operation }) {
  const pct = progressPercent(op);
  if (pct === null) return null;
  return (
    <div data-testid="op-progress" data-percent={pct} style={{ minWidth: 160 }}>
      <Progress percent={pct} aria-label={`Progress ${pct}%`} status={op.status === "failed" ? "exception" : undefined} />
    </div>
  );
}

/** What a form shows after its command was accepted: a live status line linking to the operation. */
export function LiveOperation({ id, label }: { id: string; label?: string }) {
  const { op, error } = useOperation(id);
  if (error) return <ErrorAlert error={error} />;
  if (!op) return null;
  const err = op.error as { message?: string } | null | undefined;
  return (
    <div data-testid="live-operation" data-op-id={id} style={{ margin: "8px 0" }}>
      <Space wrap>
        {label ?? op.kind}
        <StatusTag status={op.status} />
        <OperationProgress op={op} />
        <Link to={`/operations/${id}`}>details</Link>
      </Space>
      {err?.message && <div role="alert" style={{ color: "#cf1322" }}>{err.message}</div>}
    </div>
  );
}
