// AWS statuses as coloured labels, and the live line of an operation acting on a row.
import { Space, Spin } from "antd";
import { ToneTag } from "../../components/Tone";
import type { Tone } from "../../components/Tone";
import type { Operation } from "../../lib/api/types";

const TONES: Record<string, Tone> = {
  ACTIVE: "ok",
  InService: "ok",
  Running: "ok",
  CREATING: "info",
  Creating: "info",
  UPDATING: "info",
  Updating: "info",
  Pending: "info",
  DELETING: "warn",
  Deleting: "warn",
  SystemUpdating: "info",
  DEGRADED: "bad",
  CREATE_FAILED: "bad",
  DELETE_FAILED: "bad",
  Failed: "bad",
  RollingBack: "warn",
};

export function AwsStatus({ status, testid }: { status: string | null | undefined; testid?: string }) {
  const s = status ?? "unknown";
  return (
    <ToneTag tone={TONES[s] ?? "neutral"} data-testid={testid} data-status={s}>
      {s}
    </ToneTag>
  );
}

/** "scale_nodegroup: UPDATING, 3.2 s" while a command acts on the row (from its live progress). */
export function RowOperation({ op }: { op: Operation | undefined }) {
  if (!op) return null;
  const p = (op.progress ?? {}) as Record<string, unknown>;
  const aws = typeof p.status === "string" ? p.status : op.status;
  const elapsed = typeof p.elapsed_seconds === "number" ? `, ${p.elapsed_seconds.toFixed(0)} s` : "";
  return (
    <Space size={4} data-testid="row-operation" data-op-id={op.id} data-status={op.status}>
      <Spin size="small" aria-hidden />
      <span>
        {op.kind.replace(/_/g, " ")}: {aws}
        {elapsed}
      </span>
    </Space>
  );
}
