import { Alert, Tabs } from "antd";
import { PageHeader } from "../../components/PageHeader";
import { useSession } from "../../lib/auth/session";
import { useCluster } from "../../lib/clusters";
import { CommandLineTab } from "./CommandLineTab";
import { DeployForm } from "./DeployForm";

export default function DeployPage() {
  const cluster = useCluster();
  const { canOperate } = useSession();
  return (
    <>
      <PageHeader title={`Deploy a model · ${cluster}`} />
      {canOperate ? (
        <Tabs
          items={[
            { key: "form", label: "Form", children: <DeployForm cluster={cluster} /> },
            { key: "cli", label: "Paste a command line", children: <CommandLineTab cluster={cluster} /> },
          ]}
        />
      ) : (
        <Alert type="info" showIcon message="Your role can read but not deploy. Ask an operator." />
      )}
    </>
  );
}
