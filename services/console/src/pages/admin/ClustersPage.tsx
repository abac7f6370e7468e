import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Button, Form, Input, Popconfirm } from "antd";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { PageHeader } from "../../components/PageHeader";
import { api, call } from "../../lib/api/client";
import type { ClusterSummary } from "../../lib/api/types";
import type { components } from "../../api/schema";

type NewCluster = components["schemas"]["ClusterCreate"];

export default function ClustersPage() {
  const qc = useQueryClient();
  const clusters = useQuery({ queryKey: ["clusters"], queryFn: () => call(api.GET("/api/v1/clusters")) });
  const done = () => void qc.invalidateQueries({ queryKey: ["clusters"] });
  const create = useMutation({ mutationFn: (body: NewCluster) => call(api.POST("/api/v1/clusters", { body })), onSuccess: done });
  const remove = useMutation({ mutationFn: (name: string) => call(api.DELETE("/api/v1/clusters/{name}", { params: { path: { name } } })), onSuccess: done });
  const columns: Column<ClusterSummary>[] = [
    { key: "name", title: "Cluster", value: (c) => c.name, width: 160, defaultSort: "ascend" },
    { key: "context", title: "Context", value: (c) => c.context ?? "", width: 160 },
    { key: "eks", title: "EKS cluster", value: (c) => c.eks_cluster_name ?? "", width: 160 },
    { key: "region", title: "Region", value: (c) => c.region ?? "", width: 110 },
    { key: "watched", title: "Watched", value: (c) => (c.watched ? "yes" : "no"), width: 90 },
    { key: "age", title: "Snapshot age", value: (c) => (c.snapshot_age_seconds === null ? "none" : `${c.snapshot_age_seconds.toFixed(1)} s`), width: 120 },
    {
      key: "actions", title: "Actions", value: () => "", width: 120,
      render: (c) => (
        <Popconfirm title={`Remove ${c.name} from Podium? (The cluster itself is not touched.)`} onConfirm={() => remove.mutate(c.name)}>
          <Button danger size="small" data-testid={`cluster-remove-${c.name}`}>Remove</Button>
        </Popconfirm>
      ),
    },
  ];
  const clean = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).filter(([, x]) => x)) as NewCluster;
  return (
    <>
      <PageHeader title="Clusters" />
      <Form<NewCluster> layout="inline" onFinish={(v) => create.mutate(clean({ ...v }))} style={{ marginBottom: 16, rowGap: 8 }} data-testid="cluster-create">
        <Form.Item label="Name" name="name" rules={[{ required: true, message: "Name the cluster" }]}><Input /></Form.Item>
        <Form.Item label="Kubeconfig path" name="kubeconfig_path"><Input /></Form.Item>
        <Form.Item label="Context" name="context"><Input /></Form.Item>
        <Form.Item label="EKS cluster name" name="eks_cluster_name"><Input /></Form.Item>
        <Form.Item label="Region" name="region"><Input /></Form.Item>
        <Form.Item label="HyperPod cluster" name="hyperpod_cluster_name"><Input /></Form.Item>
        <Button type="primary" htmlType="submit" loading={create.isPending}>Register</Button>
      </Form>
      <ErrorAlert error={create.error} />
      <ErrorAlert error={remove.error} />
      <ErrorAlert error={clusters.error} />
      <DataTable columns={columns} rows={clusters.data ?? []} rowKey={(c) => c.name} loading={clusters.isLoading} testid="clusters-table" empty="No clusters registered" />
    </>
  );
}
