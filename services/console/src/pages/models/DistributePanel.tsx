// Distribute a pool by ratio: the server plans first (GET …/distribution, changes nothing), the plan's
// moves are shown, and only then is its assign_pods command submitted as one bulk operation.
import { useMutation } from "@tanstack/react-query";
import { Button, Input, Space, Table } from "antd";
import { ErrorAlert } from "../../components/ErrorAlert";
import { LiveOperation } from "../../components/OperationStatus";
import { api, call } from "../../lib/api/client";
import { useCommand } from "../../lib/commands";
import type { Command } from "../../lib/commands";

interface Plan {
  moves: { pod: string; from: string; to: string }[];
  command: Command;
}

export function DistributePanel({ cluster, namespace, name }: { cluster: string; namespace: string; name: string }) {
  const plan = useMutation({
    mutationFn: async (ratios: string) =>
      (await call(
        api.GET("/api/v1/clusters/{cluster}/pools/{namespace}/{name}/distribution", {
          params: { path: { cluster, namespace, name }, query: { ratios } },
        }),
      )) as unknown as Plan,
  });
  const cmd = useCommand();
  return (
    <section aria-label="Distribute by ratio">
      <Space wrap>
        <Input.Search
          aria-label="Ratios"
          data-testid="distribute-ratios"
          placeholder="prod:3,test:1"
          enterButton="Plan"
          style={{ width: 320 }}
          onSearch={(v) => {
            cmd.reset();
            if (v.trim()) plan.mutate(v.trim());
          }}
          loading={plan.isPending}
        />
      </Space>
      <ErrorAlert error={plan.error} />
      {plan.data && (
        <div data-testid="distribute-plan" data-moves={plan.data.moves.length} style={{ marginTop: 12 }}>
          <p>{plan.data.moves.length === 0 ? "Already distributed like that: nothing to move." : `${plan.data.moves.length} move(s) planned:`}</p>
          {plan.data.moves.length > 0 && (
            <>
              <Table
                size="small"
                pagination={false}
                rowKey="pod"
                dataSource={plan.data.moves}
                columns={[
                  { key: "pod", title: "Pod", dataIndex: "pod" },
                  { key: "from", title: "From", dataIndex: "from" },
                  { key: "to", title: "To", dataIndex: "to" },
                ]}
              />
              <Button
                type="primary"
                style={{ marginTop: 8 }}
                data-testid="distribute-apply"
                loading={cmd.isPending}
                disabled={!!cmd.data}
                onClick={() => cmd.mutate(plan.data!.command)}
              >
                Apply these moves
              </Button>
            </>
          )}
          <ErrorAlert error={cmd.error} />
          {cmd.data && <LiveOperation id={cmd.data.id} label="Distribute" />}
        </div>
      )}
    </section>
  );
}
