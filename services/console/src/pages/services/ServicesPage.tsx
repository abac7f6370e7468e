import { PageHeader } from "../../components/PageHeader";

export default function ServicesPage() {
  return <PageHeader title="ServicesPage" />;
}
