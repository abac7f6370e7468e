// Model downloads to the shared volume with their progress (GET …/downloads, which joins each download
// Job with its operation's progress), re-read when a Job or an operation of the cluster changes on the
// live topics; and (operators) the download_model form.
import { useQuery } from "@tanstack/react-query";
import { Button, Card, Form, Input, Progress, Space } from "antd";
import { Link } from "react-router-dom";
import type { components } from "../../api/schema";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveBadge } from "../../components/LiveBadge";
import { LiveOperation } from "../../components/OperationStatus";
import { PageHeader } from "../../components/PageHeader";
import { api, call } from "../../lib/api/client";
import { useSession } from "../../lib/auth/session";
import { useCluster } from "../../lib/clusters";
import { useCommand } from "../../lib/commands";
import { useLiveChange } from "../../lib/live";
import { cleanParams } from "../deploy/DeployForm";
import { STATUS_TONES } from "../training/columns";
import { ToneTag } from "../../components/Tone";
import { age } from "../workloads/k8s";

type Download = components["schemas"]["DownloadOut"];

const COLUMNS: Column<Download>[] = [
  { key: "model", title: "Model", value: (d) => d.model ?? d.name, width: 260 },
  { key: "revision", title: "Revision", value: (d) => d.revision ?? "", width: 100 },
  { key: "status", title: "Status", value: (d) => d.status, width: 110, render: (d) => <ToneTag tone={STATUS_TONES[d.status] ?? "neutral"} data-testid="download-status" data-status={d.status}>{d.status}</ToneTag> },
  {
    key: "progress", title: "Progress", value: (d) => d.percent ?? -1, width: 220,
    render: (d) => (
      <div data-testid="download-progress" data-percent={d.percent ?? ""}>
        {d.percent !== null && d.percent !== undefined ? (
          <Progress percent={Math.round(d.percent)} size="small" aria-label={`Downloaded ${Math.round(d.percent)}%`} status={d.status === "Failed" ? "exception" : undefined} />
        ) : (
          "—"
        )}
      </div>
    ),
  },
  { key: "files", title: "Files", value: (d) => (d.files_total ? `${d.files_done ?? 0}/${d.files_total}` : ""), width: 80 },
  { key: "pvc", title: "Volume", value: (d) => d.pvc ?? "", width: 120 },
  { key: "dir", title: "Directory", value: (d) => d.local_dir ?? "", width: 240 },
  { key: "namespace", title: "Namespace", value: (d) => d.namespace, width: 110 },
  { key: "age", title: "Age", value: (d) => d.created ?? "", render: (d) => age(d.created ?? undefined), width: 80, defaultSort: "descend" },
  { key: "op", title: "Operation", value: (d) => d.operation_id ?? "", width: 100, render: (d) => (d.operation_id ? <Link to={`/operations/${d.operation_id}`}>details</Link> : "") },
  { key: "message", title: "Message", value: (d) => d.message ?? "", width: 300 },
];

interface FormValues {
  model: string;
  revision: string;
  namespace: string;
  pvc?: string;
  name?: string;
  hf_token?: string;
}

function DownloadForm({ cluster }: { cluster: string }) {
  const cmd = useCommand();
  return (
    <Form<FormValues>
      layout="inline"
      initialValues={{ revision: "main", namespace: "default" }}
      onFinish={(v) => cmd.mutate({ kind: "download_model", cluster, params: cleanParams({ ...v }) })}
      data-testid="download-form"
    >
      <Form.Item label="Model (Hugging Face id)" name="model" rules={[{ required: true, message: "Enter a model id" }]}>
        <Input placeholder="Qwen/Qwen3-0.6B" data-testid="download-model" style={{ width: 240 }} />
      </Form.Item>
      <Form.Item label="Revision" name="revision"><Input data-testid="download-revision" style={{ width: 120 }} /></Form.Item>
      <Form.Item label="PVC (optional)" name="pvc"><Input placeholder="server default" data-testid="download-pvc" style={{ width: 150 }} /></Form.Item>
      <Form.Item label="Namespace" name="namespace"><Input style={{ width: 130 }} /></Form.Item>
      <Form.Item label="Token (optional)" name="hf_token"><Input.Password autoComplete="off" style={{ width: 180 }} /></Form.Item>
      <Form.Item><Button type="primary" htmlType="submit" loading={cmd.isPending} data-testid="download-submit">Download</Button></Form.Item>
      <div style={{ width: "100%" }}>
        <ErrorAlert error={cmd.error} />
        {cmd.data && <LiveOperation id={cmd.data.id} label="Download" />}
      </div>
    </Form>
  );
}

export default function DownloadsPage() {
  const cluster = useCluster();
  const { canOperate } = useSession();
  const q = useQuery({
    queryKey: ["downloads", cluster],
    queryFn: () => call(api.GET("/api/v1/clusters/{cluster}/downloads", { params: { path: { cluster } } })),
  });
  const reread = () => void q.refetch();
  const jobs = useLiveChange({ cluster, topic: "jobs", labelSelector: "app.kubernetes.io/component=model-download" }, reread, 500);
  // Progress lives on the download's operation: its changes arrive on the operations topic.
  useLiveChange({ cluster, topic: "operations" }, reread, 500);
  return (
    <>
      <PageHeader title={`Model downloads · ${cluster}`} extra={<LiveBadge view={jobs} />} />
      <Space direction="vertical" size="middle" style={{ width: "100%" }}>
        {canOperate && (
          <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Download a model to the shared volume</h2>}>
            <DownloadForm cluster={cluster} />
          </Card>
        )}
        <ErrorAlert error={q.error} />
        <DataTable testid="downloads-table" columns={COLUMNS} rows={q.data ?? []} rowKey={(d) => `${d.namespace}/${d.name}`} loading={q.isLoading} filterable empty="No downloads yet" />
      </Space>
    </>
  );
}
