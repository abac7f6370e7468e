// Create a node group in four steps: name, instance types and capacity type; scaling; labels and taints;
// review. Each step is checked before the next (the scaling rules as typed); the server validates all of
// it again and its 422 is shown on the review step.
import { Alert, Button, Descriptions, Form, Input, InputNumber, Modal, Select, Space, Steps } from "antd";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { Operation } from "../../lib/api/types";
import { useCommand } from "../../lib/commands";
import { SizeFields } from "./ScaleNodegroupDialog";
import { scalingError } from "./scaling";
import type { Sizes } from "./scaling";
import type { TaintIn } from "./types";

interface Props {
  cluster: string;
  onClose: () => void;
  onAccepted: (op: Operation) => void;
}

interface Basics {
  name: string;
  instance_types: string;
  capacity_type: "ON_DEMAND" | "SPOT" | "CAPACITY_BLOCK";
  disk_size: number;
}

interface Pair {
  key: string;
  value: string;
}

const STEPS = ["Name and instances", "Scaling", "Labels and taints", "Review"];
const EFFECTS = ["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"] as const;

export function CreateNodegroupWizard({ cluster, onClose, onAccepted }: Props) {
  const [step, setStep] = useState(0);
  const [basics, setBasics] = useState<Basics>({ name: "", instance_types: "", capacity_type: "ON_DEMAND", disk_size: 100 });
  const [sizes, setSizes] = useState<Sizes>({ min: 0, max: 2, desired: 1 });
  const [labels, setLabels] = useState<Pair[]>([]);
  const [taints, setTaints] = useState<TaintIn[]>([]);
  const [form] = Form.useForm<Basics>();
  const cmd = useCommand();
  const rule = scalingError(sizes);

  const params = {
    name: basics.name,
    instance_types: basics.instance_types.split(/[,\s]+/).filter(Boolean),
    capacity_type: basics.capacity_type,
    disk_size: basics.disk_size,
    scaling: sizes,
    labels: Object.fromEntries(labels.filter((l) => l.key).map((l) => [l.key, l.value])),
    taints: taints.filter((t) => t.key),
  };
  const next = async () => {
    if (step === 0) {
      setBasics(await form.validateFields());
    }
    if (step === 1 && rule) return;
    setStep(step + 1);
  };
  const submit = () =>
    cmd.mutate({ kind: "create_nodegroup", cluster, params }, { onSuccess: (op) => { onAccepted(op); onClose(); } });

  const footer = [
    <Button key="cancel" onClick={onClose}>Cancel</Button>,
    step > 0 && <Button key="back" onClick={() => setStep(step - 1)}>Back</Button>,
    step < STEPS.length - 1 ? (
      <Button key="next" type="primary" data-testid="ng-create-next" disabled={step === 1 && !!rule} onClick={() => void next().catch(() => undefined)}>
        Next
      </Button>
    ) : (
      <Button key="create" type="primary" data-testid="ng-create-submit" loading={cmd.isPending} onClick={submit}>
        Create
      </Button>
    ),
  ];
  return (
    <Modal open width={720} title="Create node group" onCancel={onClose} footer={footer}>
      <Steps size="small" current={step} items={STEPS.map((title) => ({ title }))} style={{ marginBottom: 16 }} />
      {step === 0 && (
        <Form form={form} layout="vertical" initialValues={basics} data-testid="ng-create-form">
          <Form.Item name="name" label="Name" rules={[{ required: true, message: "a name is required" }]}>
            <Input data-testid="ng-create-name" placeholder="gpu-a10g" />
          </Form.Item>
          <Form.Item
            name="instance_types"
            label="Instance types"
            rules={[{ required: true, message: "at least one instance type" }]}
            extra="Comma-separated, e.g. g5.12xlarge; several types spread Spot capacity."
          >
            <Input data-testid="ng-create-types" placeholder="g5.12xlarge" />
          </Form.Item>
          <Form.Item name="capacity_type" label="Capacity type">
            <Select
              aria-label="Capacity type"
              options={["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"].map((v) => ({ value: v, label: v }))}
            />
          </Form.Item>
          <Form.Item name="disk_size" label="Disk size (GiB)">
            <InputNumber min={20} max={16384} />
          </Form.Item>
        </Form>
      )}
      {step === 1 && (
        <>
          <SizeFields sizes={sizes} onChange={setSizes} prefix="ng-create" />
          <div aria-live="polite" style={{ minHeight: 40, marginTop: 12 }}>
            {rule && <Alert type="warning" showIcon message={rule} data-testid="ng-create-error" />}
          </div>
        </>
      )}
      {step === 2 && <LabelsAndTaints labels={labels} setLabels={setLabels} taints={taints} setTaints={setTaints} />}
      {step === 3 && (
        <>
          <Descriptions size="small" bordered column={1} data-testid="ng-create-review">
            <Descriptions.Item label="Name">{params.name}</Descriptions.Item>
            <Descriptions.Item label="Instance types">{params.instance_types.join(", ")}</Descriptions.Item>
            <Descriptions.Item label="Capacity type">{params.capacity_type}</Descriptions.Item>
            <Descriptions.Item label="Disk">{params.disk_size} GiB</Descriptions.Item>
            <Descriptions.Item label="Min / desired / max">{`${sizes.min} / ${sizes.desired} / ${sizes.max}`}</Descriptions.Item>
            <Descriptions.Item label="Labels">{Object.entries(params.labels).map(([k, v]) => `${k}=${v}`).join(", ") || "none"}</Descriptions.Item>
            <Descriptions.Item label="Taints">{params.taints.map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`).join(", ") || "none"}</Descriptions.Item>
            <Descriptions.Item label="AMI, subnets, node role">
              chosen by the server: a GPU AMI for GPU types, the cluster's subnets, an existing group's node role
            </Descriptions.Item>
          </Descriptions>
          <div style={{ marginTop: 12 }}>
            <ErrorAlert error={cmd.error} title="Create refused" />
          </div>
        </>
      )}
    </Modal>
  );
}

function LabelsAndTaints(p: {
  labels: Pair[];
  setLabels: (l: Pair[]) => void;
  taints: TaintIn[];
  setTaints: (t: TaintIn[]) => void;
}) {
  const setLabel = (i: number, patch: Partial<Pair>) => p.setLabels(p.labels.map((l, j) => (j === i ? { ...l, ...patch } : l)));
  const setTaint = (i: number, patch: Partial<TaintIn>) => p.setTaints(p.taints.map((t, j) => (j === i ? { ...t, ...patch } : t)));
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <h3 style={{ fontSize: 14, margin: 0 }}>Kubernetes labels</h3>
      {p.labels.map((l, i) => (
        <Space key={i}>
          <Input aria-label={`Label ${i + 1} key`} placeholder="key" value={l.key} onChange={(e) => setLabel(i, { key: e.target.value })} />
          <Input aria-label={`Label ${i + 1} value`} placeholder="value" value={l.value} onChange={(e) => setLabel(i, { value: e.target.value })} />
          <Button aria-label={`Remove label ${i + 1}`} onClick={() => p.setLabels(p.labels.filter((_, j) => j !== i))}>Remove</Button>
        </Space>
      ))}
      <Button onClick={() => p.setLabels([...p.labels, { key: "", value: "" }])}>Add label</Button>
      <h3 style={{ fontSize: 14, margin: "12px 0 0" }}>Taints</h3>
      {p.taints.map((t, i) => (
        <Space key={i}>
          <Input aria-label={`Taint ${i + 1} key`} placeholder="key" value={t.key} onChange={(e) => setTaint(i, { key: e.target.value })} />
          <Input aria-label={`Taint ${i + 1} value`} placeholder="value" value={t.value ?? ""} onChange={(e) => setTaint(i, { value: e.target.value })} />
          <Select
            aria-label={`Taint ${i + 1} effect`}
            style={{ width: 200 }}
            value={t.effect}
            options={EFFECTS.map((v) => ({ value: v, label: v }))}
            onChange={(effect) => setTaint(i, { effect })}
          />
          <Button aria-label={`Remove taint ${i + 1}`} onClick={() => p.setTaints(p.taints.filter((_, j) => j !== i))}>Remove</Button>
        </Space>
      ))}
      <Button onClick={() => p.setTaints([...p.taints, { key: "", value: "", effect: "NO_SCHEDULE" }])}>Add taint</Button>
    </Space>
  );
}
