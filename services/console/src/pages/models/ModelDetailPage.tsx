import { PageHeader } from "../../components/PageHeader";

export default function ModelDetailPage() {
  return <PageHeader title="ModelDetailPage" />;
}
