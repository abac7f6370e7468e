// The audit log: filters (kept in the URL), cursor paging, export of the same selection, chain check.
import { useInfiniteQuery, useMutation } from "@tanstack/react-query";
import { Alert, Button, DatePicker, Input, Select, Space } from "antd";
import { ToneTag } from "../../components/Tone";
import { useMemo } from "react";
import { useSearchParams } from "react-router-dom";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { PageHeader } from "../../components/PageHeader";
import { api, call } from "../../lib/api/client";
import type { AuditEvent } from "../../lib/api/types";
import { useSession } from "../../lib/auth/session";
import { VerifyAnswer } from "./VerifyAnswer";

const OUTCOMES = ["accepted", "denied", "invalid", "rate_limited", "running", "retrying", "requeued", "succeeded", "failed", "cancelled"];
const FILTERS = ["actor", "action", "resource", "outcome", "cluster", "since", "until"] as const;

const columns: Column<AuditEvent>[] = [
  { key: "id", title: "#", value: (e) => e.id, width: 80, defaultSort: "descend" },
  { key: "ts", title: "Time", value: (e) => e.ts, render: (e) => new Date(e.ts).toLocaleString(), width: 180 },
  { key: "actor", title: "Actor", value: (e) => e.actor, width: 120 },
  { key: "action", title: "Action", value: (e) => e.action, width: 200 },
  { key: "resource", title: "Resource", value: (e) => [e.resource_kind, e.resource_name].filter(Boolean).join("/"), width: 220 },
  { key: "cluster", title: "Cluster", value: (e) => e.cluster ?? "", width: 100 },
  { key: "namespace", title: "Namespace", value: (e) => e.namespace ?? "", width: 110 },
  { key: "outcome", title: "Outcome", value: (e) => e.outcome, width: 110, render: (e) => <ToneTag tone={e.outcome === "denied" || e.outcome === "failed" ? "bad" : "neutral"}>{e.outcome}</ToneTag> },
  { key: "details", title: "Details", value: (e) => JSON.stringify(e.details ?? {}), width: 360 },
];

export default function AuditPage() {
  const [params, setParams] = useSearchParams();
  const { isAdmin } = useSession();
  const f = useMemo(() => Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? undefined])), [params]);
  const q = useInfiniteQuery({
    queryKey: ["audit", f],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => call(api.GET("/api/v1/audit", { params: { query: { ...f, limit: 200, cursor: pageParam ?? undefined } } })),
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
  const verify = useMutation({ mutationFn: () => call(api.GET("/api/v1/audit/verify")) });
  const rows = useMemo(() => (q.data?.pages ?? []).flatMap((p) => p.items), [q.data]);
  const set = (key: string, value: string | undefined) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  const exportQuery = (format: string) => {
    const p = new URLSearchParams({ format });
    for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
    return `/api/v1/audit/export?${p.toString()}`;
  };
  return (
    <>
      <PageHeader
        title="Audit log"
        extra={
          <>
            <Button href={exportQuery("csv")} download data-testid="audit-export-csv">Export CSV</Button>
            <Button href={exportQuery("jsonl")} download data-testid="audit-export-jsonl">Export JSON Lines</Button>
            {isAdmin && <Button onClick={() => verify.mutate()} loading={verify.isPending} data-testid="audit-verify">Verify chain</Button>}
          </>
        }
      />
      <ErrorAlert error={verify.error} />
      {verify.data && <VerifyAnswer v={verify.data} />}
      <Space wrap style={{ marginBottom: 8 }}>
        <Input.Search aria-label="Actor" placeholder="Actor" allowClear defaultValue={f.actor} onSearch={(v) => set("actor", v)} style={{ width: 160 }} data-testid="audit-actor" />
        <Input.Search aria-label="Action" placeholder="Action or prefix." allowClear defaultValue={f.action} onSearch={(v) => set("action", v)} style={{ width: 200 }} data-testid="audit-action" />
        <Input.Search aria-label="Resource" placeholder="name or kind/name" allowClear defaultValue={f.resource} onSearch={(v) => set("resource", v)} style={{ width: 200 }} data-testid="audit-resource" />
        <Select aria-label="Outcome" placeholder="Outcome" allowClear value={f.outcome} onChange={(v) => set("outcome", v)} style={{ width: 150 }} options={OUTCOMES.map((o) => ({ value: o, label: o }))} data-testid="audit-outcome" />
        <Input.Search aria-label="Cluster" placeholder="Cluster" allowClear defaultValue={f.cluster} onSearch={(v) => set("cluster", v)} style={{ width: 140 }} />
        <DatePicker.RangePicker
          showTime
          aria-label="Time range"
          onChange={(r) => {
            const next = new URLSearchParams(params);
            const [a, b] = r ?? [];
            if (a) next.set("since", a.toISOString()); else next.delete("since");
            if (b) next.set("until", b.toISOString()); else next.delete("until");
            setParams(next, { replace: true });
          }}
        />
      </Space>
      <ErrorAlert error={q.error} />
      {rows.length === 0 && !q.isLoading && !q.error && <Alert type="info" message="No audit rows match these filters." style={{ marginBottom: 8 }} />}
      <DataTable columns={columns} rows={rows} rowKey={(e) => String(e.id)} loading={q.isLoading} testid="audit-table" empty="No audit rows" filterable />
      {q.hasNextPage && (
        <Button style={{ marginTop: 8 }} onClick={() => void q.fetchNextPage()} loading={q.isFetchingNextPage} data-testid="audit-more">
          Load older
        </Button>
      )}
    </>
  );
}
