// Add a HyperPod instance group. The execution role and lifecycle script default to an existing group's,
// which is what a new group usually shares; the server validates every field (its 422 is shown).
import { Button, Form, Input, InputNumber, Modal, Select } from "antd";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { Operation } from "../../lib/api/types";
import { useCommand } from "../../lib/commands";
import type { InstanceGroup } from "./types";

interface Props {
  cluster: string;
  existing: InstanceGroup[];
  onClose: () => void;
  onAccepted: (op: Operation) => void;
}

interface Values {
  name: string;
  instance_type: string;
  count: number;
  execution_role: string;
  source_s3_uri: string;
  on_create: string;
  threads_per_core: 1 | 2;
}

export function AddInstanceGroupDialog({ cluster, existing, onClose, onAccepted }: Props) {
  const [form] = Form.useForm<Values>();
  const cmd = useCommand();
  const model = existing[0];
  const lc = (model?.lifecycle_config ?? {}) as Record<string, unknown>;
  const initial: Partial<Values> = {
    count: 1,
    threads_per_core: 1,
    execution_role: model?.execution_role ?? "",
    source_s3_uri: String(lc.SourceS3Uri ?? ""),
    on_create: String(lc.OnCreate ?? "on_create.sh"),
  };
  const submit = (v: Values) =>
    cmd.mutate(
      {
        kind: "add_instance_group",
        cluster,
        params: {
          name: v.name,
          instance_type: v.instance_type,
          count: v.count,
          execution_role: v.execution_role,
          lifecycle_config: { source_s3_uri: v.source_s3_uri, on_create: v.on_create },
          threads_per_core: v.threads_per_core,
        },
      },
      { onSuccess: (op) => { onAccepted(op); onClose(); } },
    );
  const required = [{ required: true, message: "required" }];
  return (
    <Modal
      open
      title="Add instance group"
      onCancel={onClose}
      footer={[
        <Button key="cancel" onClick={onClose}>Cancel</Button>,
        <Button key="ok" type="primary" data-testid="ig-add-submit" loading={cmd.isPending} onClick={() => form.submit()}>
          Add
        </Button>,
      ]}
    >
      <Form form={form} layout="vertical" initialValues={initial} onFinish={submit} data-testid="ig-add-form">
        <Form.Item name="name" label="Name" rules={required}>
          <Input data-testid="ig-add-name" placeholder="inference-g6" />
        </Form.Item>
        <Form.Item name="instance_type" label="Instance type" rules={required}>
          <Input data-testid="ig-add-type" placeholder="ml.g5.12xlarge" />
        </Form.Item>
        <Form.Item name="count" label="Count" rules={required}>
          <InputNumber min={1} max={1000} data-testid="ig-add-count" />
        </Form.Item>
        <Form.Item name="execution_role" label="Execution role (ARN)" rules={required}>
          <Input data-testid="ig-add-role" />
        </Form.Item>
        <Form.Item name="source_s3_uri" label="Lifecycle scripts (s3:// URI)" rules={required}>
          <Input data-testid="ig-add-s3" />
        </Form.Item>
        <Form.Item name="on_create" label="On-create script" rules={required}>
          <Input data-testid="ig-add-on-create" />
        </Form.Item>
        <Form.Item name="threads_per_core" label="Threads per core">
          <Select options={[{ value: 1, label: "1" }, { value: 2, label: "2" }]} aria-label="Threads per core" />
        </Form.Item>
      </Form>
      <ErrorAlert error={cmd.error} title="Add refused" />
    </Modal>
  );
}
