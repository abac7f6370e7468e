// EKS node groups and HyperPod instance groups of one cluster, with the cluster's GPU total; statuses
// follow running commands live (useInfra.ts says how without polling).
import { Alert, Button, Card, Col, Row, Space, Statistic } from "antd";
import { useCallback, useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveBadge } from "../../components/LiveBadge";
import { LiveOperation } from "../../components/OperationStatus";
import { PageHeader } from "../../components/PageHeader";
import { ApiError } from "../../lib/api/errors";
import type { Operation } from "../../lib/api/types";
import { useSession } from "../../lib/auth/session";
import { useCluster } from "../../lib/clusters";
import { AddInstanceGroupDialog } from "./AddInstanceGroupDialog";
import { CreateNodegroupWizard } from "./CreateNodegroupWizard";
import { DeleteNodegroupDialog } from "./DeleteNodegroupDialog";
import { InstanceGroupTable } from "./InstanceGroupTable";
import { NodegroupTable } from "./NodegroupTable";
import { ScaleInstanceGroupDialog } from "./ScaleInstanceGroupDialog";
import { ScaleNodegroupDialog } from "./ScaleNodegroupDialog";
import { AwsStatus } from "./status";
import type { InstanceGroup, Nodegroup } from "./types";
import {
  HYPERPOD_KINDS,
  NODEGROUP_KINDS,
  useClusterStatus,
  useHyperpod,
  useInfraOperations,
  useNodeChanges,
  useNodegroups,
} from "./useInfra";

type Dialog =
  | { kind: "scale-ng"; group: Nodegroup }
  | { kind: "delete-ng"; group: Nodegroup }
  | { kind: "create-ng" }
  | { kind: "scale-ig"; group: InstanceGroup }
  | { kind: "add-ig" };

/** A cluster without an EKS or HyperPod name answers 409 with a sentence: shown as information. */
function NotConfigured({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.status === 409) {
    return <Alert type="info" showIcon message="Not configured" description={error.message} data-testid="not-configured" />;
  }
  return <ErrorAlert error={error} />;
}

function h2(text: string) {
  return <h2 style={{ fontSize: 16, margin: 0 }}>{text}</h2>;
}

export default function InfrastructurePage() {
  const cluster = useCluster();
  const { canOperate } = useSession();
  const nodegroups = useNodegroups(cluster);
  const hyperpod = useHyperpod(cluster);
  const status = useClusterStatus(cluster);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [accepted, setAccepted] = useState<Operation[]>([]);

  const reloadNodegroups = useCallback(() => void nodegroups.refetch(), [nodegroups]);
  const reloadHyperpod = useCallback(() => void hyperpod.refetch(), [hyperpod]);
  const reloadAll = useCallback(() => {
    void nodegroups.refetch();
    void hyperpod.refetch();
    void status.refetch();
  }, [nodegroups, hyperpod, status]);
  const ngRunning = useInfraOperations(cluster, NODEGROUP_KINDS, reloadNodegroups);
  const igRunning = useInfraOperations(cluster, HYPERPOD_KINDS, reloadHyperpod);
  const nodesLive = useNodeChanges(cluster, reloadAll);

  const onAccepted = (op: Operation) => setAccepted((list) => [op, ...list].slice(0, 3));
  const close = () => setDialog(null);
  const t = status.data?.totals;
  const hp = hyperpod.data;
  return (
    <>
      <PageHeader title={`Infrastructure · ${cluster}`} extra={<LiveBadge view={nodesLive} />}>
        {nodegroups.data && (
          <span style={{ color: "#595959" }}>
            EKS cluster {nodegroups.data.eks_cluster_name} in {nodegroups.data.region}
          </span>
        )}
      </PageHeader>
      <ErrorAlert error={status.error} />
      {t && (
        <Row gutter={16} style={{ marginBottom: 16 }} data-testid="infra-totals" data-nodes={t.nodes} data-gpu-capacity={t.gpu_capacity} data-gpu-allocatable={t.gpu_allocatable}>
          <Col><Card size="small"><Statistic title="Nodes ready" value={`${t.ready_nodes} / ${t.nodes}`} /></Card></Col>
          <Col><Card size="small"><Statistic title="GPU capacity" value={t.gpu_capacity} /></Card></Col>
          <Col><Card size="small"><Statistic title="GPU allocatable" value={t.gpu_allocatable} /></Card></Col>
          <Col><Card size="small"><Statistic title="GPU free" value={t.gpu_free} /></Card></Col>
        </Row>
      )}
      <div aria-live="polite">
        {accepted.map((op) => (
          <LiveOperation key={op.id} id={op.id} label={`${op.kind.replace(/_/g, " ")} ${String(Object.values(op.params)[0] ?? "")}`} />
        ))}
      </div>
      <Space direction="vertical" style={{ width: "100%" }} size="middle">
        <Card
          size="small"
          title={h2("EKS node groups")}
          extra={canOperate && nodegroups.data && (
            <Button data-testid="ng-create" onClick={() => setDialog({ kind: "create-ng" })}>Create node group</Button>
          )}
        >
          {nodegroups.error ? (
            <NotConfigured error={nodegroups.error} />
          ) : (
            <NodegroupTable
              groups={nodegroups.data?.nodegroups ?? []}
              loading={nodegroups.isLoading}
              running={ngRunning}
              canOperate={canOperate}
              onScale={(group) => setDialog({ kind: "scale-ng", group })}
              onDelete={(group) => setDialog({ kind: "delete-ng", group })}
            />
          )}
        </Card>
        <Card
          size="small"
          title={
            <Space>
              {h2(hp ? `HyperPod cluster ${hp.hyperpod_cluster_name}` : "HyperPod instance groups")}
              {hp && <AwsStatus status={hp.status} testid="hyperpod-status" />}
            </Space>
          }
          extra={canOperate && hp && (
            <Button data-testid="ig-add" onClick={() => setDialog({ kind: "add-ig" })}>Add instance group</Button>
          )}
        >
          {hp?.failure_message && <Alert type="error" showIcon message={hp.failure_message} style={{ marginBottom: 8 }} />}
          {hyperpod.error ? (
            <NotConfigured error={hyperpod.error} />
          ) : (
            <InstanceGroupTable
              groups={hp?.instance_groups ?? []}
              loading={hyperpod.isLoading}
              running={igRunning}
              canOperate={canOperate}
              onScale={(group) => setDialog({ kind: "scale-ig", group })}
            />
          )}
        </Card>
      </Space>
      {dialog?.kind === "scale-ng" && <ScaleNodegroupDialog cluster={cluster} group={dialog.group} onClose={close} onAccepted={onAccepted} />}
      {dialog?.kind === "delete-ng" && <DeleteNodegroupDialog cluster={cluster} name={dialog.group.name} onClose={close} onAccepted={onAccepted} />}
      {dialog?.kind === "create-ng" && <CreateNodegroupWizard cluster={cluster} onClose={close} onAccepted={onAccepted} />}
      {dialog?.kind === "scale-ig" && <ScaleInstanceGroupDialog cluster={cluster} group={dialog.group} onClose={close} onAccepted={onAccepted} />}
      {dialog?.kind === "add-ig" && <AddInstanceGroupDialog cluster={cluster} existing={hp?.instance_groups ?? []} onClose={close} onAccepted={onAccepted} />}
    </>
  );
}
