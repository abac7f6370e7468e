// Training history from MLflow: runs across experiments with their tags as columns, paged on the server,
// live from the `training_runs` topic; filters in the query string; compare selected runs; delete.
import { Button, Input, Select, Space } from "antd";
import { useCallback, useMemo, useState } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { DataTable } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveBadge } from "../../components/LiveBadge";
import { PageHeader } from "../../components/PageHeader";
import { useSession } from "../../lib/auth/session";
import { historyColumns } from "./columns";
import { DeleteRun } from "./DeleteRun";
import { useHistoryCluster, useRuns } from "./useRuns";

const STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"].map((s) => ({ value: s, label: s }));
const HIDDEN_KEY = "podium.history.hiddenColumns";

function useHiddenColumns(): [Set<string>, (keys: string[]) => void] {
  const [hidden, setHidden] = useState<Set<string>>(() => new Set(JSON.parse(localStorage.getItem(HIDDEN_KEY) ?? "[]") as string[]));
  const set = (keys: string[]) => {
    localStorage.setItem(HIDDEN_KEY, JSON.stringify(keys));
    setHidden(new Set(keys));
  };
  return [hidden, set];
}

export default function HistoryPage() {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(
    () => ({ experiment: params.get("experiment") ?? "", status: params.get("status") ?? "", text: params.get("text") ?? "" }),
    [params],
  );
  const setFilter = (key: string, value: string | undefined) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  const cluster = useHistoryCluster();
  const { canOperate } = useSession();
  const navigate = useNavigate();
  const [deleted, setDeleted] = useState<Set<string>>(new Set());
  const onDeleted = useCallback((id: string) => setDeleted((d) => (d.has(id) ? d : new Set(d).add(id))), []);
  const { q, rows, tagColumns, live } = useRuns(cluster, filters, deleted);
  const [hiddenCols, setHiddenCols] = useHiddenColumns();
  const [selected, setSelected] = useState<string[]>([]);
  const shownTags = tagColumns.filter((k) => !hiddenCols.has(k));
  const columns = useMemo(
    () =>
      historyColumns(shownTags, (r) =>
        canOperate && cluster ? <DeleteRun cluster={cluster} runId={r.id} label={r.run_name ?? r.id} onDeleted={onDeleted} /> : null,
      ),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [shownTags.join("\u0000"), canOperate, cluster, onDeleted],
  );
  const toolbar = (
    <Space wrap>
      <Input.Search aria-label="Experiment" placeholder="Experiment (name or id)" defaultValue={filters.experiment} allowClear onSearch={(v) => setFilter("experiment", v.trim())} data-testid="history-experiment" style={{ width: 220 }} />
      <Select aria-label="Status" placeholder="Any status" allowClear value={filters.status || undefined} options={STATUSES} onChange={(v: string | undefined) => setFilter("status", v)} data-testid="history-status" style={{ width: 140 }} />
      <Input.Search aria-label="Run name contains" placeholder="Run name contains" defaultValue={filters.text} allowClear onSearch={(v) => setFilter("text", v.trim())} data-testid="history-text" style={{ width: 220 }} />
      <Select
        mode="multiple"
        aria-label="Tag columns shown"
        placeholder="Tag columns"
        maxTagCount="responsive"
        style={{ minWidth: 240 }}
        value={tagColumns.filter((k) => !hiddenCols.has(k))}
        options={tagColumns.map((k) => ({ value: k, label: k }))}
        onChange={(shown: string[]) => setHiddenCols([...tagColumns.filter((k) => !shown.includes(k)), ...Array.from(hiddenCols).filter((k) => !tagColumns.includes(k))])}
        data-testid="history-columns"
      />
      <Button disabled={selected.length < 2} onClick={() => navigate(`/training/compare?runs=${selected.map(encodeURIComponent).join(",")}`)} data-testid="history-compare">
        Compare {selected.length > 1 ? selected.length : ""} runs
      </Button>
    </Space>
  );
  const page = q.data?.pages[0];
  return (
    <>
      <PageHeader title="Training history" extra={<LiveBadge view={live} />}>
        {page && <div style={{ color: "#595959" }}>MLflow: {page.tracking_uri}</div>}
      </PageHeader>
      <ErrorAlert error={q.error} title="The training history could not be read" />
      <DataTable
        testid="history-table"
        columns={columns}
        rows={rows}
        rowKey={(r) => r.id}
        loading={q.isLoading}
        filterable
        toolbar={toolbar}
        selection={{ keys: selected, onChange: setSelected }}
        empty={q.error ? "No runs could be read" : "No runs yet"}
      />
      {q.hasNextPage && (
        <Button style={{ marginTop: 8 }} loading={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()} data-testid="history-more">
          Load more runs
        </Button>
      )}
    </>
  );
}
