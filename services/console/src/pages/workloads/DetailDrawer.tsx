// One object in a drawer: its YAML and its events (live, from the events topic of its namespace).
import { Drawer, Empty, List, Tabs } from "antd";
import { ToneTag } from "../../components/Tone";
import { useMemo } from "react";
import { YamlBlock } from "../../components/YamlBlock";
import { useLiveList } from "../../lib/live";
import { age, meta } from "./k8s";
import type { K8s } from "./k8s";

function ObjectEvents({ cluster, obj }: { cluster: string; obj: K8s }) {
  const m = meta(obj);
  const events = useLiveList<K8s>({ cluster, topic: "events", namespace: m.namespace });
  const mine = useMemo(
    () =>
      events.items
        .filter((e) => (e.involvedObject as { name?: string } | undefined)?.name === m.name)
        .sort((a, b) => String(b.lastTimestamp ?? "").localeCompare(String(a.lastTimestamp ?? ""))),
    [events.items, m.name],
  );
  if (events.loaded && mine.length === 0) return <Empty description="No events for this object" />;
  return (
    <List
      size="small"
      loading={!events.loaded}
      dataSource={mine}
      renderItem={(e) => (
        <List.Item>
          <ToneTag tone={e.type === "Warning" ? "warn" : "neutral"}>{String(e.reason ?? "")}</ToneTag>
          {String(e.message ?? "")} <small>({age(String(e.lastTimestamp ?? ""))} ago)</small>
        </List.Item>
      )}
    />
  );
}

export function DetailDrawer({ cluster, obj, onClose }: { cluster: string; obj: K8s | null; onClose: () => void }) {
  return (
    <Drawer open={!!obj} onClose={onClose} width={720} title={obj ? `${String(obj.kind ?? "")} ${meta(obj).namespace ?? ""}/${meta(obj).name}` : ""} data-testid="detail-drawer">
      {obj && (
        <Tabs
          items={[
            { key: "yaml", label: "YAML", children: <YamlBlock value={obj} /> },
            { key: "events", label: "Events", children: <ObjectEvents cluster={cluster} obj={obj} /> },
            ...(obj.kind === "Pod"
              ? [{ key: "logs", label: "Logs", children: <Empty description="The API has no pod-log endpoint yet." /> }]
              : []),
          ]}
        />
      )}
    </Drawer>
  );
}
