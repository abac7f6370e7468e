// Scale a HyperPod instance group to a target count (UpdateCluster, sent by the server with every
// group's full specification).
import { Alert, Button, InputNumber, Modal, Space } from "antd";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { Operation } from "../../lib/api/types";
import { useCommand } from "../../lib/commands";
import { targetCountError } from "./scaling";
import type { InstanceGroup } from "./types";

interface Props {
  cluster: string;
  group: InstanceGroup;
  onClose: () => void;
  onAccepted: (op: Operation) => void;
}

export function ScaleInstanceGroupDialog({ cluster, group, onClose, onAccepted }: Props) {
  const [target, setTarget] = useState<number | null>(group.target_count);
  const cmd = useCommand();
  const rule = targetCountError(target);
  const submit = () => {
    if (rule) return;
    cmd.mutate(
      { kind: "scale_instance_group", cluster, params: { group: group.name, target_count: target } },
      { onSuccess: (op) => { onAccepted(op); onClose(); } },
    );
  };
  return (
    <Modal
      open
      title={`Scale instance group ${group.name}`}
      onCancel={onClose}
      footer={[
        <Button key="cancel" onClick={onClose}>Cancel</Button>,
        <Button key="ok" type="primary" data-testid="ig-scale-submit" disabled={!!rule} loading={cmd.isPending} onClick={submit}>
          Scale
        </Button>,
      ]}
    >
      <p>Now: {group.current_count} running, target {group.target_count}.</p>
      <Space direction="vertical" size={2}>
        <label htmlFor="ig-scale-target">Target count</label>
        <InputNumber id="ig-scale-target" data-testid="ig-scale-target" value={target} onChange={(v) => setTarget(v === null ? null : Number(v))} onPressEnter={submit} />
      </Space>
      <div aria-live="polite" style={{ minHeight: 40, marginTop: 12 }}>
        {rule && <Alert type="warning" showIcon message={rule} data-testid="ig-scale-error" />}
      </div>
      <ErrorAlert error={cmd.error} title="Scale refused" />
    </Modal>
  );
}
