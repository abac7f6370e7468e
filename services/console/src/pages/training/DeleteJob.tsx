// delete_training_job after typing the job's name (kept logs and metrics stay readable).
import { Button, Input, Space } from "antd";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveOperation } from "../../components/OperationStatus";
import { useCommand } from "../../lib/commands";

export function DeleteJob({ cluster, namespace, name, type }: { cluster: string; namespace: string; name: string; type?: string | null }) {
  const [typed, setTyped] = useState("");
  const cmd = useCommand();
  const params: Record<string, unknown> = { namespace, name };
  if (type) params.type = type;
  return (
    <section aria-label="Delete">
      <p>Type the name <b>{name}</b> to delete the job, its pods and its token Secret. Its kept logs and metrics stay readable.</p>
      <Space wrap>
        <Input aria-label="Name to confirm" value={typed} onChange={(e) => setTyped(e.target.value)} data-testid="job-delete-confirm" style={{ width: 220 }} />
        <Button danger disabled={typed !== name} loading={cmd.isPending} data-testid="job-delete-submit" onClick={() => cmd.mutate({ kind: "delete_training_job", cluster, params })}>
          Delete
        </Button>
      </Space>
      <ErrorAlert error={cmd.error} />
      {cmd.data && <LiveOperation id={cmd.data.id} label="Delete" />}
    </section>
  );
}
