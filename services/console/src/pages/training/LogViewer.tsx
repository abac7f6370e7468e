// A job's kept log, followed live over the `logs` topic (the last 1,000 lines first, then every new one;
// a reconnect resumes with `since`, so nothing is missed or doubled). Search filters what the tab holds;
// the whole log is a download.
import { Button, Input, Select, Space, Switch } from "antd";
import { useEffect, useMemo, useRef, useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveBadge } from "../../components/LiveBadge";
import { useLiveList } from "../../lib/live";
import { compareIds } from "../../lib/live/ids";
import type { SubscriptionSpec } from "../../lib/live";

export interface LogLine {
  id: string;
  pod: string;
  container: string;
  timestamp: string;
  line: string;
}

/** The subscription the log viewer and the charts share (one server subscription for both). */
export function jobLogSpec(cluster: string, namespace: string, job: string): SubscriptionSpec {
  return { cluster, topic: "logs", namespace, job, tail: 1000 };
}

export function LogViewer({ cluster, namespace, name }: { cluster: string; namespace: string; name: string }) {
  const log = useLiveList<LogLine>(jobLogSpec(cluster, namespace, name));
  const [search, setSearch] = useState("");
  const [pod, setPod] = useState<string | undefined>();
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  // The store's items come in no particular order; a log reads in stream-id order.
  const lines = useMemo(() => [...log.items].sort((a, b) => compareIds(a.id, b.id)), [log.items]);
  const pods = useMemo(() => Array.from(new Set(lines.map((l) => l.pod))).sort(), [lines]);
  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return lines.filter((l) => (!pod || l.pod === pod) && (!needle || l.line.toLowerCase().includes(needle)));
  }, [lines, search, pod]);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, follow]);
  const base = `/api/v1/clusters/${encodeURIComponent(cluster)}/trainingjobs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/logs/download`;
  const download = pod ? `${base}?pod=${encodeURIComponent(pod)}` : base;
  return (
    <section aria-label="Logs">
      <Space wrap style={{ marginBottom: 8 }}>
        <LiveBadge view={log} />
        <Input.Search aria-label="Search the log" placeholder="Search" allowClear style={{ width: 240 }} data-testid="log-search" onChange={(e) => setSearch(e.target.value)} />
        <Select aria-label="Pod" allowClear placeholder="All pods" style={{ minWidth: 220 }} value={pod} onChange={setPod} options={pods.map((p) => ({ value: p, label: p }))} data-testid="log-pod" />
        <label>
          <Switch checked={follow} onChange={setFollow} data-testid="log-follow" aria-label="Follow" /> Follow
        </label>
        <Button href={download} data-testid="log-download">Download</Button>
      </Space>
      {log.error && <ErrorAlert error={new Error(log.error.message)} title="Live log stopped" />}
      <div
        ref={box}
        tabIndex={0}
        role="log"
        aria-label={`Log of ${name}`}
        data-testid="log-lines"
        data-count={shown.length}
        style={{ height: 360, overflow: "auto", background: "#1e1e1e", color: "#e8e8e8", fontFamily: "monospace", fontSize: 12, padding: 8, whiteSpace: "pre-wrap", wordBreak: "break-all" }}
      >
        {log.loaded && shown.length === 0 && <div>{log.items.length ? "No line matches." : "No log lines yet."}</div>}
        {!log.loaded && !log.error && <div>Loading…</div>}
        {shown.map((l) => (
          <div key={l.id}>
            {pods.length > 1 && <span style={{ color: "#9cdcfe" }}>[{l.pod}] </span>}
            {l.line}
          </div>
        ))}
      </div>
      <div style={{ color: "#595959", marginTop: 4 }} aria-live="polite">
        {shown.length} of {log.items.length} lines held in this tab (newest 5,000; download for everything)
      </div>
    </section>
  );
}
