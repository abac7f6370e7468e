import { PageHeader } from "../../components/PageHeader";

export default function OperationsPage() {
  return <PageHeader title="OperationsPage" />;
}
