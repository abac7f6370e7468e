// The submit form: LLaMA-Factory settings with its defaults and the DeepSpeed picker, or a custom argv;
// fields map onto submit_training_job's params (submit.ts). The server validates and pre-checks.
import { Button, Form, Input, InputNumber, Radio, Select, Space } from "antd";
import { Link } from "react-router-dom";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveOperation } from "../../components/OperationStatus";
import { useCommand } from "../../lib/commands";
import { usePlacementOptions } from "../deploy/placement";
import { DEFAULTS, toParams } from "./submit";
import type { SubmitValues } from "./submit";

const DEEPSPEED = [
  { value: "none", label: "None" },
  { value: "z0", label: "ZeRO-0" },
  { value: "z2", label: "ZeRO-2" },
  { value: "z3", label: "ZeRO-3" },
  { value: "z3-offload", label: "ZeRO-3 + CPU offload" },
];
const STAGES = ["sft", "pt", "rm", "ppo", "dpo", "kto"].map((v) => ({ value: v, label: v }));
const FINETUNING = ["lora", "full", "freeze"].map((v) => ({ value: v, label: v }));

function LlamaFactoryFields() {
  return (
    <>
      <Form.Item label="Model (Hugging Face id or /models/… path)" name="model" rules={[{ required: true, message: "Enter a model" }]}>
        <Input placeholder="Qwen/Qwen2.5-0.5B-Instruct" data-testid="train-model" />
      </Form.Item>
      <Form.Item label="Dataset (comma-separated names)" name="dataset" rules={[{ required: true, message: "Enter a dataset" }]}>
        <Input placeholder="alpaca_en_demo" data-testid="train-dataset" />
      </Form.Item>
      <Space wrap size="middle">
        <Form.Item label="Template" name="template"><Input style={{ width: 140 }} /></Form.Item>
        <Form.Item label="Stage" name="stage"><Select aria-label="Stage" options={STAGES} style={{ width: 100 }} /></Form.Item>
        <Form.Item label="Fine-tuning" name="finetuning_type"><Select aria-label="Fine-tuning" options={FINETUNING} style={{ width: 110 }} /></Form.Item>
        <Form.Item label="DeepSpeed" name="deepspeed"><Select aria-label="DeepSpeed" options={DEEPSPEED} style={{ width: 200 }} data-testid="train-deepspeed" /></Form.Item>
      </Space>
      <Space wrap size="middle">
        <Form.Item label="Batch size per device" name="batch_size"><InputNumber min={1} max={4096} /></Form.Item>
        <Form.Item label="Gradient accumulation" name="gradient_accumulation_steps"><InputNumber min={1} max={4096} /></Form.Item>
        <Form.Item label="Learning rate" name="learning_rate"><InputNumber min={0} max={1} step={0.00001} stringMode={false} style={{ width: 120 }} /></Form.Item>
        <Form.Item label="Epochs" name="epochs"><InputNumber min={0.01} max={10000} /></Form.Item>
        <Form.Item label="Cutoff length" name="cutoff_len"><InputNumber min={1} /></Form.Item>
      </Space>
      <Space wrap size="middle">
        <Form.Item label="Max steps (optional)" name="max_steps"><InputNumber min={1} data-testid="train-max-steps" /></Form.Item>
        <Form.Item label="Logging steps" name="logging_steps"><InputNumber min={1} data-testid="train-logging-steps" /></Form.Item>
        <Form.Item label="Output dir (optional, on /models)" name="output_dir"><Input placeholder="/models/outputs/<job>" style={{ width: 240 }} /></Form.Item>
      </Space>
    </>
  );
}

export function SubmitForm({ cluster }: { cluster: string }) {
  const cmd = useCommand();
  const [form] = Form.useForm<SubmitValues>();
  const mode = Form.useWatch("mode", form) ?? "llamafactory";
  const placement = usePlacementOptions(cluster);
  const submitted = cmd.variables?.params as { name?: string; namespace?: string } | undefined;
  return (
    <Form<SubmitValues>
      form={form}
      layout="vertical"
      style={{ maxWidth: 820 }}
      initialValues={DEFAULTS}
      onFinish={(v) => cmd.mutate({ kind: "submit_training_job", cluster, params: toParams(v) })}
      data-testid="train-form"
    >
      <Space wrap size="middle">
        <Form.Item label="Job name" name="name" rules={[{ required: true, message: "Enter a name" }]}>
          <Input data-testid="train-name" style={{ width: 220 }} />
        </Form.Item>
        <Form.Item label="Namespace" name="namespace" rules={[{ required: true }]}>
          <Input data-testid="train-namespace" style={{ width: 160 }} />
        </Form.Item>
        <Form.Item label="Job type" name="type">
          <Radio.Group aria-label="Job type" optionType="button" options={[{ value: "pytorchjob", label: "PyTorchJob" }, { value: "hyperpod", label: "HyperPod PyTorchJob" }]} />
        </Form.Item>
      </Space>
      <Form.Item label="Image (optional)" name="image"><Input placeholder="server default (LLaMA-Factory)" /></Form.Item>
      <Form.Item label="What to run" name="mode">
        <Radio.Group aria-label="What to run" options={[{ value: "llamafactory", label: "LLaMA-Factory" }, { value: "command", label: "Custom command" }]} data-testid="train-mode" />
      </Form.Item>
      {mode === "command" ? (
        <Form.Item label="Command: one argument per line (not a shell)" name="argv" rules={[{ required: true, message: "Enter the program and its arguments" }]}>
          <Input.TextArea rows={5} placeholder={"python\ntrain.py\n--epochs\n3"} data-testid="train-argv" style={{ fontFamily: "monospace" }} />
        </Form.Item>
      ) : (
        <LlamaFactoryFields />
      )}
      <Space wrap size="middle">
        <Form.Item label="Instance type" name="instance_type">
          <Select allowClear aria-label="Instance type" options={placement.instanceTypes} placeholder="Any" style={{ width: 200 }} />
        </Form.Item>
        <Form.Item label="Nodes (replicas)" name="replicas"><InputNumber min={1} max={256} data-testid="train-replicas" /></Form.Item>
        <Form.Item label="GPUs per node" name="procs_per_node"><InputNumber min={1} max={64} data-testid="train-gpus" /></Form.Item>
      </Space>
      <Form.Item label="Environment (NAME=value per line, optional)" name="env">
        <Input.TextArea rows={2} data-testid="train-env" style={{ fontFamily: "monospace" }} />
      </Form.Item>
      <Form.Item label="Hugging Face token (optional, kept secret)" name="hf_token">
        <Input.Password autoComplete="off" data-testid="train-hf-token" />
      </Form.Item>
      <Space wrap size="middle">
        <Form.Item label="MLflow experiment (optional)" name="mlflow_experiment"><Input data-testid="train-mlflow-experiment" style={{ width: 240 }} /></Form.Item>
        <Form.Item label="MLflow run name (optional)" name="mlflow_run_name"><Input data-testid="train-mlflow-run" style={{ width: 240 }} /></Form.Item>
      </Space>
      <ErrorAlert error={cmd.error} />
      {cmd.data && (
        <>
          <LiveOperation id={cmd.data.id} label="Submit" />
          {submitted?.name && (
            <Link data-testid="train-job-link" to={`/c/${encodeURIComponent(cluster)}/training/${encodeURIComponent(submitted.namespace ?? "default")}/${encodeURIComponent(submitted.name)}`}>
              Open the job
            </Link>
          )}
        </>
      )}
      <div style={{ marginTop: 8 }}>
        <Button type="primary" htmlType="submit" loading={cmd.isPending} data-testid="train-submit">Submit</Button>
      </div>
    </Form>
  );
}
