import { PageHeader } from "../../components/PageHeader";

export default function ModelsPage() {
  return <PageHeader title="ModelsPage" />;
}
