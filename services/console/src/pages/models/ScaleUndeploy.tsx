// Scale (a pool's scale-down is refused with the server's reason when it would take assigned pods) and
// undeploy (only after typing the name).
import { Button, Checkbox, Input, InputNumber, Space } from "antd";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveOperation } from "../../components/OperationStatus";
import { useCommand } from "../../lib/commands";

interface Props {
  cluster: string;
  namespace: string;
  name: string;
  replicas: number;
}

export function ScalePanel({ cluster, namespace, name, replicas }: Props) {
  const [n, setN] = useState<number | null>(replicas);
  const cmd = useCommand();
  return (
    <section aria-label="Scale">
      <Space>
        <label htmlFor="scale-replicas">Replicas</label>
        <InputNumber id="scale-replicas" min={0} max={10000} value={n} onChange={setN} data-testid="scale-replicas" />
        <Button
          data-testid="scale-submit"
          loading={cmd.isPending}
          onClick={() => n !== null && cmd.mutate({ kind: "scale", cluster, params: { namespace, name, replicas: n } })}
        >
          Scale
        </Button>
      </Space>
      <ErrorAlert error={cmd.error} title="Scale refused" />
      {cmd.data && <LiveOperation id={cmd.data.id} label="Scale" />}
    </section>
  );
}

export function UndeployPanel({ cluster, namespace, name }: Omit<Props, "replicas">) {
  const [typed, setTyped] = useState("");
  const [force, setForce] = useState(false);
  const cmd = useCommand();
  return (
    <section aria-label="Undeploy">
      <p>Type the name <b>{name}</b> to undeploy it.</p>
      <Space wrap>
        <Input aria-label="Name to confirm" value={typed} onChange={(e) => setTyped(e.target.value)} data-testid="undeploy-confirm" style={{ width: 220 }} />
        <Checkbox checked={force} onChange={(e) => setForce(e.target.checked)}>
          even with assigned pods
        </Checkbox>
        <Button
          danger
          disabled={typed !== name}
          loading={cmd.isPending}
          data-testid="undeploy-submit"
          onClick={() => cmd.mutate({ kind: "undeploy_model", cluster, params: { namespace, name, force } })}
        >
          Undeploy
        </Button>
      </Space>
      <ErrorAlert error={cmd.error} />
      {cmd.data && <LiveOperation id={cmd.data.id} label="Undeploy" />}
    </section>
  );
}
