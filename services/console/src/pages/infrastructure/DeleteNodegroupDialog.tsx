// Delete a node group only after its name is typed (the server checks `confirm` equals it too).
import { Button, Input, Modal } from "antd";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { Operation } from "../../lib/api/types";
import { useCommand } from "../../lib/commands";

interface Props {
  cluster: string;
  name: string;
  onClose: () => void;
  onAccepted: (op: Operation) => void;
}

export function DeleteNodegroupDialog({ cluster, name, onClose, onAccepted }: Props) {
  const [typed, setTyped] = useState("");
  const cmd = useCommand();
  const submit = () =>
    cmd.mutate(
      { kind: "delete_nodegroup", cluster, params: { nodegroup: name, confirm: typed } },
      { onSuccess: (op) => { onAccepted(op); onClose(); } },
    );
  return (
    <Modal
      open
      title={`Delete node group ${name}`}
      onCancel={onClose}
      footer={[
        <Button key="cancel" onClick={onClose}>Cancel</Button>,
        <Button key="ok" danger type="primary" data-testid="ng-delete-submit" disabled={typed !== name} loading={cmd.isPending} onClick={submit}>
          Delete
        </Button>,
      ]}
    >
      <p>
        Its nodes are drained and terminated. Type the name <b>{name}</b> to delete it.
      </p>
      <Input
        aria-label="Node group name to confirm"
        data-testid="ng-delete-confirm"
        value={typed}
        onChange={(e) => setTyped(e.target.value)}
        onPressEnter={() => typed === name && submit()}
      />
      <div style={{ marginTop: 12 }}>
        <ErrorAlert error={cmd.error} title="Delete refused" />
      </div>
    </Modal>
  );
}
