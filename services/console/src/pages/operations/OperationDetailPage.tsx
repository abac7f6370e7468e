// One operation, live: params (secrets arrive masked from the API), attempts, error, result, a bulk's
// progress and its per-item table, and cancel.
import { useMutation } from "@tanstack/react-query";
import { Button, Card, Descriptions, Space } from "antd";
import { Link, useNavigate, useParams } from "react-router-dom";
import { DataTable } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { OperationProgress, StatusTag } from "../../components/OperationStatus";
import { PageHeader } from "../../components/PageHeader";
import { api, call } from "../../lib/api/client";
import { useSession } from "../../lib/auth/session";
import { useOperation } from "../../lib/live";
import { isFinished } from "../../lib/live/operations";
import { operationColumns } from "./columns";
import { useOperationList } from "./useOperationList";

function Json({ value, testid }: { value: unknown; testid: string }) {
  return (
    <pre data-testid={testid} tabIndex={0} style={{ background: "#f6f8fa", padding: 8, margin: 0, maxHeight: 360, overflow: "auto", fontSize: 12 }}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

function Children({ id, cluster }: { id: string; cluster: string }) {
  const navigate = useNavigate();
  const { rows, query } = useOperationList({ parent_id: id }, [cluster]);
  return (
    <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Items</h2>}>
      <DataTable columns={operationColumns} rows={rows} rowKey={(o) => o.id} loading={query.isLoading} testid="bulk-items" onOpen={(o) => navigate(`/operations/${o.id}`)} filterable />
    </Card>
  );
}

export default function OperationDetailPage() {
  const { id = "" } = useParams();
  const { op, error } = useOperation(id);
  const { canOperate } = useSession();
  const cancel = useMutation({
    mutationFn: () => call(api.POST("/api/v1/operations/{op_id}/cancel", { params: { path: { op_id: id } } })),
  });
  return (
    <>
      <PageHeader
        title={`Operation ${id.slice(0, 8)}`}
        extra={
          canOperate && op && !isFinished(op) ? (
            <Button danger onClick={() => cancel.mutate()} loading={cancel.isPending} disabled={op.cancel_requested} data-testid="op-cancel">
              {op.cancel_requested ? "Cancel requested" : "Cancel"}
            </Button>
          ) : null
        }
      />
      <ErrorAlert error={error} />
      <ErrorAlert error={cancel.error} />
      {op && (
        <Space direction="vertical" style={{ width: "100%" }} size="middle">
          <Descriptions size="small" bordered column={2} data-testid="op-summary">
            <Descriptions.Item label="Kind">{op.kind}</Descriptions.Item>
            <Descriptions.Item label="Status"><StatusTag status={op.status} /></Descriptions.Item>
            <Descriptions.Item label="Cluster">{op.cluster}</Descriptions.Item>
            <Descriptions.Item label="Namespace">{op.namespace ?? "—"}</Descriptions.Item>
            <Descriptions.Item label="Requested by">{op.requested_by}</Descriptions.Item>
            <Descriptions.Item label="Attempts"><span data-testid="op-attempts">{op.attempts}</span></Descriptions.Item>
            <Descriptions.Item label="Created">{new Date(op.created_at).toLocaleString()}</Descriptions.Item>
            <Descriptions.Item label="Finished">{op.finished_at ? new Date(op.finished_at).toLocaleString() : "—"}</Descriptions.Item>
            {op.parent_id && <Descriptions.Item label="Part of"><Link to={`/operations/${op.parent_id}`}>{op.parent_id.slice(0, 8)}</Link></Descriptions.Item>}
          </Descriptions>
          <OperationProgress op={op} />
          {op.error && (
            <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Error</h2>}>
              <p role="alert" data-testid="op-error-message">{String((op.error as { message?: unknown }).message ?? "")}</p>
              <Json value={op.error} testid="op-error" />
            </Card>
          )}
          <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Params</h2>}>
            <Json value={op.params} testid="op-params" />
          </Card>
          {op.result && (
            <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Result</h2>}>
              <Json value={op.result} testid="op-result" />
            </Card>
          )}
          {op.progress && <Children id={op.id} cluster={op.cluster} />}
        </Space>
      )}
    </>
  );
}
