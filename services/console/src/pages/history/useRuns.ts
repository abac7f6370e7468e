// The history's data: pages of runs from the REST read (MLflow pages on the server; `cursor` wraps its
// page token), changed runs overwritten live from the `training_runs` topic, and a new run (whose tag
// columns only the server orders) re-read with the first pages — throttled, never on a timer.
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef } from "react";
import type { components } from "../../api/schema";
import { api, call } from "../../lib/api/client";
import { useClusters } from "../../lib/clusters";
import { useLiveList } from "../../lib/live";
import { mergeTagColumns } from "./rules";

export type Run = components["schemas"]["RunSummary"];
export type RunDetail = components["schemas"]["RunDetail"];
type RunPage = components["schemas"]["RunPage"];

export interface Filters {
  experiment?: string;
  status?: string;
  text?: string;
}

/** The cluster whose tracking server (its own, else the global one) and event stream the history uses. */
export function useHistoryCluster(): string | undefined {
  const clusters = useClusters();
  const names = (clusters.data ?? []).map((c) => c.name);
  const remembered = localStorage.getItem("podium.cluster");
  return remembered && names.includes(remembered) ? remembered : names[0];
}

type Status = components["schemas"]["RunStatus"];

export function useRuns(cluster: string | undefined, filters: Filters, hidden: Set<string>) {
  const q = useInfiniteQuery({
    queryKey: ["training-runs", cluster ?? "", filters],
    enabled: cluster !== undefined,
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last: RunPage) => last.next_cursor ?? undefined,
    queryFn: ({ pageParam }): Promise<RunPage> =>
      call(
        api.GET("/api/v1/training/runs", {
          params: {
            query: {
              cluster,
              experiment: filters.experiment ? [filters.experiment] : undefined,
              status: (filters.status || undefined) as Status | undefined,
              text: filters.text || undefined,
              cursor: pageParam,
              limit: 50,
            },
          },
        }),
      ),
  });
  const live = useLiveList<Run>(cluster ? { cluster, topic: "training_runs" } : null);
  const filtered = !!(filters.experiment || filters.status || filters.text);
  const rows = useMemo(() => {
    const byId = new Map<string, Run>();
    for (const page of q.data?.pages ?? []) for (const r of page.runs) byId.set(r.id, r);
    const fresh: Run[] = [];
    for (const r of live.items) {
      if (byId.has(r.id)) byId.set(r.id, r);
      else if (!filtered) fresh.push(r); // shown at once; the re-read below gives its place and columns
    }
    return [...fresh.reverse(), ...byId.values()].filter((r) => !hidden.has(r.id));
  }, [q.data, live.items, filtered, hidden]);
  const tagColumns = useMemo(() => mergeTagColumns((q.data?.pages ?? []).map((p) => p.tag_columns)), [q.data]);

  // A run the pages do not hold arrived: re-read once per such change (at most every 2 s).
  const known = useMemo(() => new Set((q.data?.pages ?? []).flatMap((p) => p.runs.map((r) => r.id))), [q.data]);
  const unknown = live.items.some((r) => !known.has(r.id));
  const last = useRef({ at: 0, id: null as string | null });
  const refetch = q.refetch;
  useEffect(() => {
    if (!unknown || q.isFetching || last.current.id === live.lastId) return undefined;
    const wait = Math.max(0, 2000 - (Date.now() - last.current.at));
    const t = setTimeout(() => {
      last.current = { at: Date.now(), id: live.lastId };
      void refetch();
    }, wait);
    return () => clearTimeout(t);
  }, [unknown, live.lastId, q.isFetching, refetch]);

  return { q, rows, tagColumns, live };
}

export function useRun(cluster: string | undefined, runId: string) {
  return useQuery({
    queryKey: ["training-run", cluster ?? "", runId],
    enabled: cluster !== undefined,
    retry: false,
    queryFn: () => call(api.GET("/api/v1/training/runs/{run_id}", { params: { path: { run_id: runId }, query: { cluster } } })),
  });
}
