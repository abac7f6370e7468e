// Business Services of pools: the server's read (name, business, model, ready pods, address), re-read when
// the services or endpoints topics change; create and delete are commands.
import { useQuery } from "@tanstack/react-query";
import { Button, Form, Input, Popconfirm, Radio, Select } from "antd";
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
import { useLiveChange, useLiveList } from "../../lib/live";
import { meta } from "../workloads/k8s";
import type { K8s } from "../workloads/k8s";

interface BusinessService {
  name: string;
  namespace: string;
  business: string;
  model: string;
  pool: string;
  ready_pods: number;
  address: string | null;
  port: number;
  scheme: string;
}

function CreateForm({ cluster }: { cluster: string }) {
  const pools = useLiveList<K8s>({ cluster, topic: "deployments", labelSelector: "deployment-type=model-pool" });
  const cmd = useCommand();
  const options = pools.items.map((d) => ({ value: `${meta(d).namespace}/${meta(d).name}`, label: `${meta(d).namespace}/${meta(d).name}` }));
  const onFinish = (v: { pool: string; business: string; scheme: string }) => {
    const [namespace, pool] = v.pool.split("/");
    cmd.mutate({ kind: "create_business_service", cluster, params: { namespace, pool, business: v.business, scheme: v.scheme } });
  };
  return (
    <Form layout="inline" onFinish={onFinish} initialValues={{ scheme: "internal" }} style={{ marginBottom: 16, rowGap: 8 }} data-testid="service-create">
      <Form.Item label="Pool" name="pool" rules={[{ validator: (_, v) => (v ? Promise.resolve() : Promise.reject(new Error("Pick a pool"))) }]}>
        <Select aria-label="Pool" options={options} style={{ width: 220 }} data-testid="service-pool" placeholder="Pool" />
      </Form.Item>
      <Form.Item label="Business" name="business" rules={[{ required: true, message: "Name the business" }]}>
        <Input data-testid="service-business" placeholder="prod" />
      </Form.Item>
      <Form.Item label="Exposure" name="scheme">
        <Radio.Group aria-label="Exposure" options={[{ value: "internal", label: "Internal" }, { value: "internet-facing", label: "Internet-facing" }]} />
      </Form.Item>
      <Button type="primary" htmlType="submit" loading={cmd.isPending} data-testid="service-create-submit">
        Create
      </Button>
      <div style={{ width: "100%" }}>
        <ErrorAlert error={cmd.error} />
        {cmd.data && <LiveOperation id={cmd.data.id} label="Create service" />}
      </div>
    </Form>
  );
}

function DeleteButton({ cluster, svc }: { cluster: string; svc: BusinessService }) {
  const cmd = useCommand();
  if (cmd.data) return <LiveOperation id={cmd.data.id} label="Delete" />;
  return (
    <>
      <Popconfirm
        title={`Delete ${svc.name}?`}
        okText="Delete"
        onConfirm={() => cmd.mutate({ kind: "delete_business_service", cluster, params: { namespace: svc.namespace, name: svc.name } })}
      >
        <Button danger size="small" data-testid={`service-delete-${svc.name}`} loading={cmd.isPending}>
          Delete
        </Button>
      </Popconfirm>
      {cmd.error ? <ErrorAlert error={cmd.error} /> : null}
    </>
  );
}

export default function ServicesPage() {
  const cluster = useCluster();
  const { canOperate } = useSession();
  const q = useQuery({
    queryKey: ["business-services", cluster, null],
    queryFn: async () =>
      (await call(api.GET("/api/v1/clusters/{cluster}/business-services", { params: { path: { cluster } } }))) as unknown as BusinessService[],
  });
  const refetch = () => void q.refetch();
  const view = useLiveChange({ cluster, topic: "services", labelSelector: "service-type=business-service" }, refetch, 300);
  useLiveChange({ cluster, topic: "pods", labelSelector: "deployment-type=model-pool" }, refetch, 500);
  const columns: Column<BusinessService>[] = [
    { key: "name", title: "Service", value: (s) => s.name, width: 200, defaultSort: "ascend" },
    { key: "namespace", title: "Namespace", value: (s) => s.namespace, width: 120 },
    { key: "business", title: "Business", value: (s) => s.business, width: 120 },
    { key: "pool", title: "Pool", value: (s) => s.pool, width: 140 },
    { key: "model", title: "Model", value: (s) => s.model, width: 220 },
    { key: "ready", title: "Ready pods", value: (s) => s.ready_pods, width: 100, render: (s) => <span data-testid={`ready-pods-${s.name}`}>{s.ready_pods}</span> },
    { key: "address", title: "Address", value: (s) => (s.address ? `${s.address}:${s.port}` : "pending"), width: 260 },
    { key: "scheme", title: "Exposure", value: (s) => s.scheme, width: 120 },
    ...(canOperate ? [{ key: "actions", title: "Actions", value: () => "", width: 200, render: (s: BusinessService) => <DeleteButton cluster={cluster} svc={s} /> }] : []),
  ];
  return (
    <>
      <PageHeader title={`Business services · ${cluster}`} extra={<LiveBadge view={view} />} />
      {canOperate && <CreateForm cluster={cluster} />}
      <ErrorAlert error={q.error} />
      <DataTable columns={columns} rows={q.data ?? []} rowKey={(s) => `${s.namespace}/${s.name}`} loading={q.isLoading} filterable testid="services-table" empty="No business services" />
    </>
  );
}
