// The deploy form: fields map one to one onto deploy_model's params; the server validates and pre-checks.
import { Button, Form, Input, InputNumber, Radio, Select, Switch } from "antd";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveOperation } from "../../components/OperationStatus";
import { useCommand } from "../../lib/commands";
import { usePlacementOptions } from "./placement";

export interface DeployValues {
  namespace: string;
  name?: string;
  engine: "vllm" | "sglang" | "ollama";
  model: string;
  gpus_per_replica?: number;
  replicas: number;
  max_model_len?: number;
  instance_type?: string;
  node_group?: string;
  scheme: "internal" | "internet-facing";
  pool: boolean;
  hf_token?: string;
}

/** Drops empty optional fields so the server applies its own defaults. */
export function cleanParams(v: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== null && x !== ""));
}

export function DeployForm({ cluster }: { cluster: string }) {
  const cmd = useCommand();
  const placement = usePlacementOptions(cluster);
  const onFinish = (v: DeployValues) =>
    cmd.mutate({ kind: "deploy_model", cluster, params: cleanParams({ ...v }) });
  return (
    <Form<DeployValues>
      layout="vertical"
      style={{ maxWidth: 640 }}
      onFinish={onFinish}
      initialValues={{ namespace: "default", engine: "vllm", replicas: 1, gpus_per_replica: 1, scheme: "internal", pool: false }}
      data-testid="deploy-form"
    >
      <Form.Item label="Model (Hugging Face id or Ollama tag)" name="model" rules={[{ required: true, message: "Enter a model" }]}>
        <Input placeholder="Qwen/Qwen3-0.6B" data-testid="deploy-model" />
      </Form.Item>
      <Form.Item label="Engine" name="engine">
        <Radio.Group
          aria-label="Engine"
          options={[{ value: "vllm", label: "vLLM" }, { value: "sglang", label: "SGLang" }, { value: "ollama", label: "Ollama" }]}
          optionType="button"
        />
      </Form.Item>
      <Form.Item label="Namespace" name="namespace" rules={[{ required: true }]}>
        <Input data-testid="deploy-namespace" />
      </Form.Item>
      <Form.Item label="Name (optional)" name="name">
        <Input data-testid="deploy-name" />
      </Form.Item>
      <Form.Item label="GPUs per replica (tensor parallel)" name="gpus_per_replica">
        <InputNumber min={0} max={64} data-testid="deploy-gpus" />
      </Form.Item>
      <Form.Item label="Replicas" name="replicas">
        <InputNumber min={0} max={256} data-testid="deploy-replicas" />
      </Form.Item>
      <Form.Item label="Max model length (optional)" name="max_model_len">
        <InputNumber min={1} style={{ width: 200 }} />
      </Form.Item>
      <Form.Item label="Instance type" name="instance_type">
        <Select allowClear aria-label="Instance type" options={placement.instanceTypes} placeholder="Any" />
      </Form.Item>
      <Form.Item label="Node group" name="node_group">
        <Select allowClear aria-label="Node group" options={placement.nodeGroups} placeholder="Any" />
      </Form.Item>
      <Form.Item label="Exposure" name="scheme">
        <Radio.Group
          aria-label="Exposure"
          options={[{ value: "internal", label: "Internal" }, { value: "internet-facing", label: "Internet-facing" }]}
        />
      </Form.Item>
      <Form.Item label="Pool (pods shared by businesses)" name="pool" valuePropName="checked">
        <Switch data-testid="deploy-pool" />
      </Form.Item>
      <Form.Item label="Hugging Face token (optional, kept secret)" name="hf_token">
        <Input.Password autoComplete="off" />
      </Form.Item>
      <ErrorAlert error={cmd.error} />
      {cmd.data && <LiveOperation id={cmd.data.id} label="Deploy" />}
      <Button type="primary" htmlType="submit" loading={cmd.isPending} data-testid="deploy-submit">
        Deploy
      </Button>
    </Form>
  );
}
