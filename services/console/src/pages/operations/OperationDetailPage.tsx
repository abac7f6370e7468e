import { PageHeader } from "../../components/PageHeader";

export default function OperationDetailPage() {
  return <PageHeader title="OperationDetailPage" />;
}
