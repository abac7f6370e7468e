import { PageHeader } from "../../components/PageHeader";

export default function ClustersPage() {
  return <PageHeader title="ClustersPage" />;
}
