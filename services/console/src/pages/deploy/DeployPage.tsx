import { PageHeader } from "../../components/PageHeader";

export default function DeployPage() {
  return <PageHeader title="DeployPage" />;
}
