// The test console: pick a Service and an OpenAI path, edit the JSON body (templates), send, and watch
// tokens arrive; status, latency, the pod that answered and the equivalent curl command are shown.
import { Button, Card, Descriptions, Input, Select, Space, Typography } from "antd";
import { useMemo, useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { PageHeader } from "../../components/PageHeader";
import { useCluster } from "../../lib/clusters";
import { useLiveList } from "../../lib/live";
import { meta } from "../workloads/k8s";
import type { K8s } from "../workloads/k8s";
import { SERVING_SELECTOR, instanceOf, modelIdOf } from "../models/serving";
import { invoke, TEMPLATES } from "./invoke";
import type { InvokeOutcome, InvokePath } from "./invoke";

export default function PlaygroundPage() {
  const cluster = useCluster();
  const services = useLiveList<K8s>({ cluster, topic: "services", labelSelector: SERVING_SELECTOR });
  const deployments = useLiveList<K8s>({ cluster, topic: "deployments", labelSelector: SERVING_SELECTOR });
  const [target, setTarget] = useState<string | undefined>();
  const [path, setPath] = useState<InvokePath>("/v1/chat/completions");
  const [model, setModel] = useState("");
  const [body, setBody] = useState(JSON.stringify(TEMPLATES[path], null, 2));
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<InvokeOutcome | null>(null);
  const [error, setError] = useState<unknown>(null);
  const options = useMemo(
    () => services.items.map((s) => ({ value: `${meta(s).namespace}/${meta(s).name}`, label: `${meta(s).namespace}/${meta(s).name}` })),
    [services.items],
  );

  const pickTarget = (v: string) => {
    setTarget(v);
    const svc = services.items.find((s) => `${meta(s).namespace}/${meta(s).name}` === v);
    // The served model name is the model id the deployment carries (the label holds only a slug).
    const d = deployments.items.find((x) => svc && meta(x).namespace === meta(svc).namespace && meta(x).name === instanceOf(svc));
    const id = d ? modelIdOf(d) : "";
    setModel(id);
    try {
      const current = JSON.parse(body) as Record<string, unknown>;
      if (current && typeof current === "object" && "model" in current) setBody(JSON.stringify({ ...current, model: id }, null, 2));
    } catch {
      // leave a body the user is editing alone
    }
  };
  const useTemplate = (p: InvokePath) => {
    setPath(p);
    const t = TEMPLATES[p] as Record<string, unknown> | null;
    setBody(t === null ? "" : JSON.stringify({ ...t, model: model || t.model }, null, 2));
  };
  const send = async () => {
    setError(null);
    setOutcome(null);
    setText("");
    let parsed: unknown = null;
    if (path !== "/v1/models") {
      try {
        parsed = JSON.parse(body);
      } catch (e) {
        setError(new Error(`The body is not valid JSON: ${(e as Error).message}`));
        return;
      }
    }
    const [namespace = "", name = ""] = (target ?? "").split("/");
    setBusy(true);
    try {
      setOutcome(await invoke({ cluster, namespace, name }, path, parsed, setText));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <PageHeader title={`Playground · ${cluster}`} />
      <Space wrap style={{ marginBottom: 12 }}>
        <Select aria-label="Service" placeholder="Service" style={{ width: 300 }} options={options} value={target} onChange={pickTarget} data-testid="playground-service" showSearch />
        <Select
          aria-label="Path"
          style={{ width: 220 }}
          value={path}
          onChange={useTemplate}
          data-testid="playground-path"
          options={(Object.keys(TEMPLATES) as InvokePath[]).map((p) => ({ value: p, label: p }))}
        />
        <Button onClick={() => useTemplate(path)}>Reset to template</Button>
        <Button type="primary" onClick={() => void send()} loading={busy} disabled={!target} data-testid="playground-send">
          Send
        </Button>
      </Space>
      {path !== "/v1/models" && (
        <Input.TextArea
          aria-label="Request body (JSON)"
          data-testid="playground-body"
          value={body}
          onChange={(e) => setBody(e.target.value)}
          rows={10}
          spellCheck={false}
          style={{ fontFamily: "monospace", marginBottom: 12 }}
        />
      )}
      <ErrorAlert error={error} />
      <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>Answer</h2>} style={{ marginBottom: 12 }}>
        <pre data-testid="playground-output" aria-live="polite" style={{ whiteSpace: "pre-wrap", minHeight: 60 }}>
          {text || (outcome ? JSON.stringify(outcome.raw, null, 2) : busy ? "…" : "")}
        </pre>
      </Card>
      {outcome && (
        <Descriptions size="small" bordered column={1} data-testid="playground-meta">
          <Descriptions.Item label="Status"><span data-testid="playground-status">{outcome.status}</span></Descriptions.Item>
          <Descriptions.Item label="Latency">
            {`${Math.round(outcome.elapsedMs)} ms total`}
            {outcome.firstTokenMs !== null && `, first token after ${Math.round(outcome.firstTokenMs)} ms`}
          </Descriptions.Item>
          <Descriptions.Item label="Answered by"><span data-testid="playground-pod">{outcome.pod ?? "not reported by the engine"}</span></Descriptions.Item>
          <Descriptions.Item label="curl">
            <Typography.Paragraph copyable={{ text: outcome.curl, tooltips: ["Copy", "Copied"] }} code data-testid="playground-curl" style={{ margin: 0 }}>
              {outcome.curl}
            </Typography.Paragraph>
          </Descriptions.Item>
        </Descriptions>
      )}
    </>
  );
}
