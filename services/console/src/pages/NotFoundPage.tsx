import { Result } from "antd";
import { Link } from "react-router-dom";

export default function NotFoundPage() {
  return <Result status="404" title="No such page" extra={<Link to="/">Go to the start page</Link>} />;
}
