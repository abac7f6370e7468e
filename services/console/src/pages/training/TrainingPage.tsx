// Training jobs of a cluster, live from the `trainingjobs` topic, and (operators) the submit form.
import { Tabs } from "antd";
import { DataTable } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveBadge } from "../../components/LiveBadge";
import { PageHeader } from "../../components/PageHeader";
import { useSession } from "../../lib/auth/session";
import { useCluster } from "../../lib/clusters";
import { useLiveList } from "../../lib/live";
import { keyOf } from "../workloads/k8s";
import type { K8s } from "../workloads/k8s";
import { trainingColumns } from "./columns";
import { SubmitForm } from "./SubmitForm";
import { useMemo } from "react";

// Viewers get the table only: no form they could not submit.

function JobsTable({ cluster }: { cluster: string }) {
  const jobs = useLiveList<K8s>({ cluster, topic: "trainingjobs" });
  const columns = useMemo(() => trainingColumns(cluster), [cluster]);
  return (
    <>
      <LiveBadge view={jobs} />
      {jobs.error && <ErrorAlert error={new Error(jobs.error.message)} title="Live updates stopped" />}
      <DataTable
        testid="training-table"
        columns={columns}
        rows={jobs.items}
        rowKey={keyOf}
        loading={!jobs.loaded && !jobs.error}
        filterable
        empty="No training jobs in this cluster"
      />
    </>
  );
}

export default function TrainingPage() {
  const cluster = useCluster();
  const { canOperate } = useSession();
  return (
    <>
      <PageHeader title={`Training · ${cluster}`} />
      <Tabs
        items={[
          { key: "jobs", label: "Jobs", children: <JobsTable cluster={cluster} /> },
          ...(canOperate ? [{ key: "submit", label: "Submit a job", children: <SubmitForm cluster={cluster} /> }] : []),
        ]}
      />
    </>
  );
}
