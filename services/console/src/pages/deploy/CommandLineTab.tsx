// Paste a serving command line: the server parses it (one parser, the server's) and says what it read and
// whether it fits the free GPUs now, before anything is queued.
import { Alert, Button, Descriptions, Form, Input, InputNumber, Space, Switch, Tag } from "antd";
import { useMutation } from "@tanstack/react-query";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveOperation } from "../../components/OperationStatus";
import { rawJson } from "../../lib/api/client";
import { useCommand } from "../../lib/commands";
import { cleanParams } from "./DeployForm";

interface ParseAnswer {
  params: Record<string, unknown>;
  warnings: string[];
  fits: boolean;
  gpu: { needed: number; free_now: number | null };
}

interface Values {
  command_line: string;
  namespace: string;
  name?: string;
  replicas?: number;
  pool: boolean;
}

export function CommandLineTab({ cluster }: { cluster: string }) {
  const [form] = Form.useForm<Values>();
  const parse = useMutation({
    mutationFn: (v: Values) =>
      rawJson<ParseAnswer>(`/api/v1/clusters/${encodeURIComponent(cluster)}/deploy/parse`, "POST", cleanParams({ ...v })),
  });
  const cmd = useCommand();
  const submit = () => cmd.mutate({ kind: "deploy_model", cluster, params: cleanParams({ ...form.getFieldsValue() }) });
  const a = parse.data;
  return (
    <Form<Values> form={form} layout="vertical" style={{ maxWidth: 760 }} initialValues={{ namespace: "default", pool: false }} onFinish={(v) => parse.mutate(v)} onValuesChange={() => parse.reset()}>
      <Form.Item label="Command line" name="command_line" rules={[{ required: true, message: "Paste a command line" }]}>
        <Input.TextArea rows={4} spellCheck={false} data-testid="command-line" placeholder="vllm serve Qwen/Qwen3-0.6B --tensor-parallel-size 2 --max-model-len 8192" />
      </Form.Item>
      <Space wrap>
        <Form.Item label="Namespace" name="namespace"><Input /></Form.Item>
        <Form.Item label="Name (optional)" name="name"><Input /></Form.Item>
        <Form.Item label="Replicas" name="replicas"><InputNumber min={0} max={256} /></Form.Item>
        <Form.Item label="Pool" name="pool" valuePropName="checked"><Switch /></Form.Item>
      </Space>
      <div>
        <Button htmlType="submit" loading={parse.isPending} data-testid="parse-submit">Check</Button>
      </div>
      <ErrorAlert error={parse.error} title="The server could not read this command line" />
      {a && (
        <div data-testid="parse-result" data-fits={a.fits} style={{ marginTop: 16 }}>
          <Alert
            showIcon
            type={a.fits ? "success" : "warning"}
            message={a.fits ? "Fits the free GPUs now" : "Does not fit the free GPUs now"}
            description={`needs ${a.gpu.needed} GPUs, ${a.gpu.free_now ?? "unknown"} free now`}
          />
          {a.warnings.map((w) => <Alert key={w} type="warning" message={w} style={{ marginTop: 8 }} />)}
          <Descriptions size="small" bordered column={1} style={{ marginTop: 12 }} title="What the server parsed">
            {Object.entries(a.params).map(([k, v]) => (
              <Descriptions.Item key={k} label={k}>
                {Array.isArray(v) ? v.map((x) => <Tag key={String(x)}>{String(x)}</Tag>) : String(v ?? "—")}
              </Descriptions.Item>
            ))}
          </Descriptions>
          <ErrorAlert error={cmd.error} />
          {cmd.data && <LiveOperation id={cmd.data.id} label="Deploy" />}
          <Button type="primary" style={{ marginTop: 12 }} onClick={submit} loading={cmd.isPending} data-testid="deploy-command-line">
            Deploy this
          </Button>
        </div>
      )}
    </Form>
  );
}
