// The frame of every signed-in page: navigation (landmark <nav>), header with the cluster switcher and
// the user menu, and the page in <main>.
import { Button, Layout, Menu, Select, Space, Typography } from "antd";
import type { ReactNode } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router-dom";
import { useSession } from "../lib/auth/session";
import { useClusters } from "../lib/clusters";

const CLUSTER_PAGES = [
  ["overview", "Overview"],
  ["workloads/pods", "Workloads"],
  ["deploy", "Deploy"],
  ["models", "Models"],
  ["services", "Services"],
  ["playground", "Playground"],
  ["infrastructure", "Infrastructure"],
  ["storage", "Storage"],
  ["training", "Training"],
  ["downloads", "Downloads"],
] as const;

function useCurrentCluster(): string | undefined {
  const fromUrl = useParams().cluster;
  const clusters = useClusters();
  return fromUrl ?? localStorage.getItem("podium.cluster") ?? clusters.data?.[0]?.name;
}

function ClusterSwitcher({ cluster }: { cluster: string | undefined }) {
  const clusters = useClusters();
  const navigate = useNavigate();
  const location = useLocation();
  const list = clusters.data ?? [];
  if (list.length <= 1) return null;
  const onChange = (next: string) => {
    localStorage.setItem("podium.cluster", next);
    const m = location.pathname.match(/^\/c\/[^/]+\/([^/]+)/);
    const page = m?.[1] === "models" || m?.[1] === "workloads" ? m[1] : (m?.[1] ?? "overview");
    navigate(`/c/${encodeURIComponent(next)}/${page}`);
  };
  return (
    <Select
      aria-label="Cluster"
      data-testid="cluster-switcher"
      value={cluster}
      style={{ minWidth: 160 }}
      options={list.map((c) => ({ value: c.name, label: c.name }))}
      onChange={onChange}
    />
  );
}

export function Shell({ children }: { children: ReactNode }) {
  const { me, logout, isAdmin } = useSession();
  const cluster = useCurrentCluster();
  const location = useLocation();
  const navigate = useNavigate();
  const inUrl = useParams().cluster;
  if (inUrl) localStorage.setItem("podium.cluster", inUrl);
  const c = cluster ? `/c/${encodeURIComponent(cluster)}` : null;
  const items = [
    ...(c ? CLUSTER_PAGES.map(([path, label]) => ({ key: `${c}/${path}`, label: <Link to={`${c}/${path}`}>{label}</Link> })) : []),
    { key: "/training/history", label: <Link to="/training/history">Training history</Link> },
    { key: "/operations", label: <Link to="/operations">Operations</Link> },
    { key: "/audit", label: <Link to="/audit">Audit</Link> },
    ...(isAdmin
      ? [
          { key: "/admin/users", label: <Link to="/admin/users">Users</Link> },
          { key: "/admin/clusters", label: <Link to="/admin/clusters">Clusters</Link> },
        ]
      : []),
  ];
  const selected = items
    .map((i) => i.key)
    .filter((k) => location.pathname.startsWith(k.replace(/\/pods$/, "")))
    .sort((a, b) => b.length - a.length)
    .slice(0, 1);
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Sider breakpoint="lg" collapsedWidth={0} theme="light" width={200}>
        <div style={{ padding: "16px 24px" }}>
          <Link to="/" style={{ fontSize: 20, fontWeight: 600 }}>
            Podium
          </Link>
        </div>
        <nav aria-label="Main">
          <Menu mode="inline" selectedKeys={selected} items={items} />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{ background: "#fff", padding: "0 24px", display: "flex", justifyContent: "flex-end" }}
        >
          <Space>
            <ClusterSwitcher cluster={cluster} />
            <Typography.Text data-testid="whoami">
              {me?.username} ({me?.role})
            </Typography.Text>
            <Button onClick={() => navigate("/account/password")}>Password</Button>
            <Button
              data-testid="logout"
              onClick={() => logout().finally(() => navigate("/login", { replace: true }))}
            >
              Sign out
            </Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 24 }}>{children}</Layout.Content>
      </Layout>
    </Layout>
  );
}
