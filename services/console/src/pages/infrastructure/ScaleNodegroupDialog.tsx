// Scale a node group: min / max / desired, validated as they are typed (the rule named as the server
// names it); the command goes through the pipeline and the page follows it live.
import { Alert, Button, InputNumber, Modal, Space } from "antd";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { useCommand } from "../../lib/commands";
import type { Operation } from "../../lib/api/types";
import { scalingError } from "./scaling";
import type { Sizes } from "./scaling";
import type { Nodegroup } from "./types";

interface Props {
  cluster: string;
  group: Nodegroup;
  onClose: () => void;
  onAccepted: (op: Operation) => void;
}

interface SizeProps {
  sizes: Sizes;
  onChange: (s: Sizes) => void;
  prefix: string;
  onEnter?: () => void;
}

export function SizeFields({ sizes, onChange, prefix, onEnter }: SizeProps) {
  return (
    <Space wrap>
      {(["min", "desired", "max"] as const).map((field) => (
        <Space key={field} direction="vertical" size={2}>
          <label htmlFor={`${prefix}-${field}`}>{field === "min" ? "Minimum" : field === "max" ? "Maximum" : "Desired"}</label>
          <InputNumber
            id={`${prefix}-${field}`}
            data-testid={`${prefix}-${field}`}
            value={sizes[field]}
            onChange={(v) => onChange({ ...sizes, [field]: v === null ? null : Number(v) })}
            onPressEnter={onEnter}
          />
        </Space>
      ))}
    </Space>
  );
}

export function ScaleNodegroupDialog({ cluster, group, onClose, onAccepted }: Props) {
  const [sizes, setSizes] = useState<Sizes>({ min: group.min ?? 0, max: group.max ?? 1, desired: group.desired ?? 0 });
  const cmd = useCommand();
  const rule = scalingError(sizes);
  const submit = () => {
    if (rule) return;
    cmd.mutate(
      { kind: "scale_nodegroup", cluster, params: { nodegroup: group.name, ...sizes } },
      { onSuccess: (op) => { onAccepted(op); onClose(); } },
    );
  };
  return (
    <Modal
      open
      title={`Scale node group ${group.name}`}
      onCancel={onClose}
      footer={[
        <Button key="cancel" onClick={onClose}>Cancel</Button>,
        <Button key="ok" type="primary" data-testid="ng-scale-submit" disabled={!!rule} loading={cmd.isPending} onClick={submit}>
          Scale
        </Button>,
      ]}
    >
      <section aria-label={`Scale ${group.name}`}>
        <p>Now: min {group.min ?? "?"}, desired {group.desired ?? "?"}, max {group.max ?? "?"} ({group.nodes.length} nodes).</p>
        <SizeFields sizes={sizes} onChange={setSizes} prefix="ng-scale" onEnter={submit} />
        <div aria-live="polite" style={{ minHeight: 40, marginTop: 12 }}>
          {rule && <Alert type="warning" showIcon message={rule} data-testid="ng-scale-error" />}
        </div>
      </section>
      <ErrorAlert error={cmd.error} title="Scale refused" />
    </Modal>
  );
}
