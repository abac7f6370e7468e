import { PageHeader } from "../../components/PageHeader";

export default function WorkloadsPage() {
  return <PageHeader title="WorkloadsPage" />;
}
