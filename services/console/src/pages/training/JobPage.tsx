// One training job: status, pods, events (the server's summary, re-read when the job, its pods or the
// namespace's events change on their live topics), live logs and live charts; delete for operators.
import { useQuery } from "@tanstack/react-query";
import { Card, Space, Spin } from "antd";
import { useParams } from "react-router-dom";
import { ErrorAlert } from "../../components/ErrorAlert";
import { PageHeader } from "../../components/PageHeader";
import { api, call } from "../../lib/api/client";
import { useSession } from "../../lib/auth/session";
import { useCluster } from "../../lib/clusters";
import { useEffect, useRef } from "react";
import { useLiveChange } from "../../lib/live";
import { meta } from "../workloads/k8s";
import { DeleteJob } from "./DeleteJob";
import { EventsTable, JobSummary, PodsTable } from "./JobDetails";
import { LogViewer } from "./LogViewer";
import { MetricCharts } from "./MetricCharts";

const h2 = (text: string) => <h2 style={{ fontSize: 16, margin: 0 }}>{text}</h2>;

export default function JobPage() {
  const cluster = useCluster();
  const { namespace = "", name = "" } = useParams();
  const { canOperate } = useSession();
  const q = useQuery({
    queryKey: ["trainingjob", cluster, namespace, name],
    queryFn: () => call(api.GET("/api/v1/clusters/{cluster}/trainingjobs/{namespace}/{name}", { params: { path: { cluster, namespace, name } } })),
    retry: false,
  });
  const reread = () => void q.refetch();
  const jobs = useLiveChange({ cluster, topic: "trainingjobs", namespace }, reread, 1000);
  // Opened right after submitting, the read may have missed a job the live snapshot already holds.
  const listed = jobs.items.some((o) => meta(o).name === name);
  const { refetch, isFetching, data } = q;
  const retried = useRef(false);
  useEffect(() => {
    if (!listed || data || isFetching || retried.current) return;
    retried.current = true;
    void refetch();
  }, [listed, data, isFetching, refetch]);
  useLiveChange({ cluster, topic: "pods", namespace, labelSelector: `training.kubeflow.org/job-name=${name}` }, reread, 1000);
  useLiveChange({ cluster, topic: "events", namespace }, reread, 2000);
  const job = q.data;
  return (
    <>
      <PageHeader title={`Training job ${namespace}/${name}`} />
      {q.isLoading && <Spin aria-label="Loading the job" />}
      {/* A deleted job's page still shows its kept log and (through the history) its metrics. */}
      <ErrorAlert error={q.error} />
      <Space direction="vertical" size="middle" style={{ width: "100%" }}>
        {job && <JobSummary job={job} />}
        {job && <Card size="small" title={h2("Metrics")}><MetricCharts cluster={cluster} namespace={namespace} name={name} uid={job.uid} /></Card>}
        <Card size="small" title={h2("Logs")}><LogViewer cluster={cluster} namespace={namespace} name={name} /></Card>
        {job && <Card size="small" title={h2("Pods")}><PodsTable pods={job.pods} /></Card>}
        {job && <Card size="small" title={h2("Events")}><EventsTable events={job.events} /></Card>}
        {job && canOperate && <Card size="small" title={h2("Delete")}><DeleteJob cluster={cluster} namespace={namespace} name={name} type={job.type} /></Card>}
      </Space>
    </>
  );
}
