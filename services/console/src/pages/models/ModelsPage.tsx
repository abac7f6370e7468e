// Deployed models and pools, live from the deployments and services topics.
import { ToneTag } from "../../components/Tone";
import { useMemo } from "react";
import { useNavigate } from "react-router-dom";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveBadge } from "../../components/LiveBadge";
import { PageHeader } from "../../components/PageHeader";
import { useCluster } from "../../lib/clusters";
import { useLiveList } from "../../lib/live";
import { keyOf, meta } from "../workloads/k8s";
import type { K8s } from "../workloads/k8s";
import { SERVING_SELECTOR, endpointOf, engineOf, instanceOf, modelIdOf, modelType } from "./serving";

interface Row {
  d: K8s;
  endpoints: string[];
}

const columns: Column<Row>[] = [
  { key: "name", title: "Name", value: (r) => meta(r.d).name, width: 200, defaultSort: "ascend" },
  { key: "namespace", title: "Namespace", value: (r) => meta(r.d).namespace, width: 130 },
  { key: "type", title: "Type", value: (r) => modelType(r.d), width: 100, render: (r) => <ToneTag tone={modelType(r.d) === "pool" ? "accent" : "info"}>{modelType(r.d)}</ToneTag> },
  { key: "engine", title: "Engine", value: (r) => engineOf(r.d), width: 100 },
  { key: "model", title: "Model", value: (r) => modelIdOf(r.d), width: 240 },
  { key: "replicas", title: "Ready / desired", value: (r) => `${r.d.status?.readyReplicas ?? 0}/${r.d.spec?.replicas ?? 0}`, width: 130 },
  { key: "endpoints", title: "Endpoints", value: (r) => r.endpoints.join(", "), width: 360, render: (r) => r.endpoints.map((e) => <div key={e}>{e}</div>) },
];

export default function ModelsPage() {
  const cluster = useCluster();
  const navigate = useNavigate();
  const deployments = useLiveList<K8s>({ cluster, topic: "deployments", labelSelector: SERVING_SELECTOR });
  const services = useLiveList<K8s>({ cluster, topic: "services", labelSelector: SERVING_SELECTOR });
  const rows = useMemo(
    () =>
      deployments.items.map((d) => ({
        d,
        endpoints: services.items
          .filter((s) => meta(s).namespace === meta(d).namespace && instanceOf(s) === meta(d).name)
          .map(endpointOf),
      })),
    [deployments.items, services.items],
  );
  return (
    <>
      <PageHeader title={`Models · ${cluster}`} extra={<LiveBadge view={deployments} />} />
      {deployments.error && <ErrorAlert error={new Error(deployments.error.message)} />}
      <DataTable
        columns={columns}
        rows={rows}
        rowKey={(r) => keyOf(r.d)}
        loading={!deployments.loaded && deployments.phase !== "error"}
        filterable
        testid="models-table"
        empty="No models deployed"
        onOpen={(r) => navigate(`/c/${encodeURIComponent(cluster)}/models/${meta(r.d).namespace}/${meta(r.d).name}`)}
      />
    </>
  );
}
