// All operations the user may see, filtered (the filters live in the URL), updating live.
import { useQuery } from "@tanstack/react-query";
import { Button, Input, Select } from "antd";
import { useMemo } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { DataTable } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { PageHeader } from "../../components/PageHeader";
import { api, call } from "../../lib/api/client";
import { useClusters } from "../../lib/clusters";
import { operationColumns } from "./columns";
import type { OpFilter } from "./columns";
import { useOperationList } from "./useOperationList";

const STATUSES = ["queued", "running", "retrying", "succeeded", "failed", "cancelled"];

export default function OperationsPage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const clusters = useClusters();
  const kinds = useQuery({ queryKey: ["kinds"], queryFn: () => call(api.GET("/api/v1/commands/kinds")) });
  const f: OpFilter = useMemo(
    () => ({
      status: params.get("status") ?? undefined,
      kind: params.get("kind") ?? undefined,
      cluster: params.get("cluster") ?? undefined,
      requested_by: params.get("requested_by") ?? undefined,
    }),
    [params],
  );
  const { rows, query } = useOperationList(f);
  const set = (key: keyof OpFilter, value: string | undefined) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  return (
    <>
      <PageHeader title="Operations" />
      <ErrorAlert error={query.error} />
      <DataTable
        columns={operationColumns}
        rows={rows}
        rowKey={(o) => o.id}
        loading={query.isLoading}
        testid="operations-table"
        empty="No operations match"
        onOpen={(o) => navigate(`/operations/${o.id}`)}
        toolbar={
          <>
            <Select aria-label="Status" placeholder="Status" allowClear style={{ width: 140 }} value={f.status} onChange={(v) => set("status", v)} options={STATUSES.map((s) => ({ value: s, label: s }))} data-testid="filter-status" />
            <Select aria-label="Kind" placeholder="Kind" allowClear style={{ width: 200 }} value={f.kind} onChange={(v) => set("kind", v)} options={(kinds.data ?? []).map((k) => ({ value: k.name, label: k.name }))} data-testid="filter-kind" />
            <Select aria-label="Cluster" placeholder="Cluster" allowClear style={{ width: 160 }} value={f.cluster} onChange={(v) => set("cluster", v)} options={(clusters.data ?? []).map((c) => ({ value: c.name, label: c.name }))} data-testid="filter-cluster" />
            <Input.Search aria-label="Requested by" placeholder="Requested by" allowClear style={{ width: 200 }} defaultValue={f.requested_by} onSearch={(v) => set("requested_by", v || undefined)} data-testid="filter-requester" />
          </>
        }
      />
      {query.hasNextPage && (
        <Button style={{ marginTop: 8 }} onClick={() => void query.fetchNextPage()} loading={query.isFetchingNextPage}>
          Load older
        </Button>
      )}
    </>
  );
}
