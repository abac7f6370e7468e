// Live lists of workloads: namespace and label selector go to the server (the subscription's filters)
// and into the URL, so a filtered view can be shared.
import { AutoComplete, Input, Tabs } from "antd";
import { useMemo, useState } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router-dom";
import { DataTable } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveBadge } from "../../components/LiveBadge";
import { PageHeader } from "../../components/PageHeader";
import { useCluster } from "../../lib/clusters";
import { useLiveList } from "../../lib/live";
import type { Topic } from "../../lib/live";
import { WORKLOAD_COLUMNS, WORKLOAD_KINDS } from "./columns";
import { DetailDrawer } from "./DetailDrawer";
import { keyOf, meta } from "./k8s";
import type { K8s } from "./k8s";

const seenNamespaces = new Set<string>(["default"]);

export default function WorkloadsPage() {
  const cluster = useCluster();
  const kind = (useParams().kind ?? "pods") as Topic;
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const namespace = params.get("namespace") ?? undefined;
  const labelSelector = params.get("labelSelector") ?? undefined;
  const [nsDraft, setNsDraft] = useState(namespace ?? "");
  const [openKey, setOpenKey] = useState<string | null>(null);
  const view = useLiveList<K8s>({ cluster, topic: kind, namespace, labelSelector });
  // The drawer shows the live object, so it changes while open.
  const open = useMemo(() => (openKey ? view.items.find((o) => keyOf(o) === openKey) ?? null : null), [openKey, view.items]);
  for (const o of view.items.slice(0, 2000)) if (meta(o).namespace) seenNamespaces.add(meta(o).namespace!);
  const columns = WORKLOAD_COLUMNS[kind];
  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value.trim()) next.set(key, value.trim());
    else next.delete(key);
    setParams(next, { replace: true });
  };
  const nsOptions = useMemo(() => Array.from(seenNamespaces).sort().map((n) => ({ value: n })), [view.items]);
  if (!columns) return <ErrorAlert error={new Error(`No such list: ${kind}`)} />;
  return (
    <>
      <PageHeader title={`Workloads · ${cluster}`} extra={<LiveBadge view={view} />} />
      <Tabs
        activeKey={kind}
        onChange={(k) => navigate(`/c/${encodeURIComponent(cluster)}/workloads/${k}?${params.toString()}`)}
        items={WORKLOAD_KINDS.map((k) => ({ key: k.kind, label: k.label }))}
      />
      {view.error && <ErrorAlert error={new Error(view.error.message)} />}
      <DataTable
        columns={columns}
        rows={view.items}
        delta={view.delta}
        rowKey={keyOf}
        loading={!view.loaded && view.phase !== "error"}
        filterable
        onOpen={(o) => setOpenKey(keyOf(o))}
        testid={`${kind}-table`}
        empty={`No ${kind} match`}
        toolbar={
          <>
            <AutoComplete
              aria-label="Namespace"
              data-testid="namespace-picker"
              style={{ width: 200 }}
              placeholder="All namespaces"
              options={nsOptions}
              value={nsDraft}
              onChange={setNsDraft}
              onSelect={(v: string) => setFilter("namespace", v)}
              onBlur={() => setFilter("namespace", nsDraft)}
              allowClear
              onClear={() => setFilter("namespace", "")}
            />
            <Input.Search
              aria-label="Label selector"
              data-testid="label-selector"
              placeholder="Label selector, e.g. app=web"
              defaultValue={labelSelector}
              style={{ width: 280 }}
              onSearch={(v) => setFilter("labelSelector", v)}
              enterButton="Apply"
            />
          </>
        }
      />
      <DetailDrawer cluster={cluster} obj={open} onClose={() => setOpenKey(null)} />
    </>
  );
}
