// delete_training_run behind a confirmation; when its operation succeeds the row goes (MLflow's search
// no longer shows the run, and the topic publishes no deletions).
import { Button, Popconfirm } from "antd";
import { useEffect } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveOperation } from "../../components/OperationStatus";
import { useCommand } from "../../lib/commands";
import { useOperation } from "../../lib/live";

export function DeleteRun({ cluster, runId, label, onDeleted }: { cluster: string; runId: string; label: string; onDeleted: (id: string) => void }) {
  const cmd = useCommand();
  const { op } = useOperation(cmd.data?.id);
  useEffect(() => {
    if (op?.status === "succeeded") onDeleted(runId);
  }, [op?.status, onDeleted, runId]);
  return (
    <>
      <Popconfirm
        title={`Delete run ${label}?`}
        description="MLflow keeps it as deleted; it can be restored."
        okText="Delete"
        okButtonProps={{ danger: true, "data-testid": `run-delete-ok-${runId}` } as { danger: boolean }}
        onConfirm={() => cmd.mutate({ kind: "delete_training_run", cluster, params: { run_id: runId } })}
      >
        <Button size="small" danger loading={cmd.isPending || (!!cmd.data && op?.status !== "succeeded" && op?.status !== "failed")} data-testid={`run-delete-${runId}`}>
          Delete
        </Button>
      </Popconfirm>
      {cmd.error && <ErrorAlert error={cmd.error} />}
      {op?.status === "failed" && cmd.data && <LiveOperation id={cmd.data.id} label="Delete" />}
    </>
  );
}
