import { PageHeader } from "../../components/PageHeader";

export default function PlaygroundPage() {
  return <PageHeader title="PlaygroundPage" />;
}
