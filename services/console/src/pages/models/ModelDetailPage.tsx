// One deployment or pool: live pods, business drop-downs, share bars, distribute, scale, undeploy.
import { useQuery } from "@tanstack/react-query";
import { Card, Descriptions, Space, Tag } from "antd";
import { useMemo } from "react";
import { useParams } from "react-router-dom";
import { LiveBadge } from "../../components/LiveBadge";
import { PageHeader } from "../../components/PageHeader";
import { api, call } from "../../lib/api/client";
import { useSession } from "../../lib/auth/session";
import { useCluster } from "../../lib/clusters";
import { useLiveChange, useLiveList } from "../../lib/live";
import { meta, podReady } from "../workloads/k8s";
import type { K8s } from "../workloads/k8s";
import { DistributePanel } from "./DistributePanel";
import { PoolPods } from "./PoolPods";
import { ScalePanel, UndeployPanel } from "./ScaleUndeploy";
import { engineOf, modelIdOf, modelType } from "./serving";
import { ShareBars } from "./ShareBars";
import type { Share } from "./ShareBars";

function useBusinesses(cluster: string, namespace: string, pool: string) {
  const q = useQuery({
    queryKey: ["business-services", cluster, namespace],
    queryFn: () =>
      call(api.GET("/api/v1/clusters/{cluster}/business-services", { params: { path: { cluster }, query: { namespace } } })),
  });
  // Re-read when a business Service appears or goes (the services topic), never on a timer.
  useLiveChange({ cluster, topic: "services", namespace, labelSelector: "service-type=business-service" }, () => void q.refetch(), 300);
  return useMemo(
    () => Array.from(new Set((q.data ?? []).filter((s) => s.pool === pool).map((s) => String(s.business)))).sort(),
    [q.data, pool],
  );
}

export default function ModelDetailPage() {
  const cluster = useCluster();
  const { namespace = "", name = "" } = useParams();
  const { canOperate } = useSession();
  const deps = useLiveList<K8s>({ cluster, topic: "deployments", namespace, labelSelector: `app.kubernetes.io/instance=${name}` });
  const pods = useLiveList<K8s>({ cluster, topic: "pods", namespace, labelSelector: `app.kubernetes.io/instance=${name}` });
  const d = deps.items.find((x) => meta(x).name === name);
  const isPool = d ? modelType(d) === "pool" : false;
  const businesses = useBusinesses(cluster, namespace, name);
  const live = pods.items.filter((p) => !meta(p).deletionTimestamp);
  const shares = useMemo<Share[]>(() => {
    const by = new Map<string, Share>();
    for (const b of ["unassigned", ...businesses]) by.set(b, { business: b, pods: 0, ready: 0 });
    for (const p of live) {
      const b = meta(p).labels?.business ?? "unassigned";
      const s = by.get(b) ?? { business: b, pods: 0, ready: 0 };
      s.pods += 1;
      s.ready += podReady(p) ? 1 : 0;
      by.set(b, s);
    }
    return Array.from(by.values());
  }, [live, businesses]);
  return (
    <>
      <PageHeader title={`${namespace}/${name}`} extra={<LiveBadge view={pods} />} />
      {deps.loaded && !d && <p role="status">No deployment named {name} in {namespace} (it may have been undeployed).</p>}
      {d && (
        <Descriptions size="small" bordered column={3} style={{ marginBottom: 16 }} data-testid="model-summary">
          <Descriptions.Item label="Type"><Tag>{modelType(d)}</Tag></Descriptions.Item>
          <Descriptions.Item label="Engine">{engineOf(d)}</Descriptions.Item>
          <Descriptions.Item label="Model">{modelIdOf(d)}</Descriptions.Item>
          <Descriptions.Item label="Ready / desired">
            <span data-testid="replicas-ready">{`${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`}</span>
          </Descriptions.Item>
        </Descriptions>
      )}
      <Space direction="vertical" style={{ width: "100%" }} size="middle">
        {isPool && (
          <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Business shares</h2>}>
            <ShareBars shares={shares} total={live.length} />
          </Card>
        )}
        <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Pods</h2>}>
          <PoolPods cluster={cluster} namespace={namespace} pods={live} businesses={businesses} canOperate={canOperate && isPool} />
        </Card>
        {canOperate && isPool && (
          <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Distribute by ratio</h2>}>
            <DistributePanel cluster={cluster} namespace={namespace} name={name} />
          </Card>
        )}
        {canOperate && d && (
          <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Scale</h2>}>
            <ScalePanel cluster={cluster} namespace={namespace} name={name} replicas={Number(d.spec?.replicas ?? 0)} />
          </Card>
        )}
        {canOperate && d && (
          <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Undeploy</h2>}>
            <UndeployPanel cluster={cluster} namespace={namespace} name={name} />
          </Card>
        )}
      </Space>
    </>
  );
}
