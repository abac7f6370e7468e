// A route per page (deep-linkable URLs); each page is its own chunk, loaded when first visited.
import { Spin } from "antd";
import { lazy, Suspense } from "react";
import type { ReactNode } from "react";
import { Navigate, Route, Routes } from "react-router-dom";
import { Shell } from "./components/Shell";
import { RequireAuth } from "./lib/auth/session";
import { HomeRedirect } from "./pages/HomeRedirect";

const Login = lazy(() => import("./pages/login/LoginPage"));
const ChangePassword = lazy(() => import("./pages/login/ChangePasswordPage"));
const Overview = lazy(() => import("./pages/overview/OverviewPage"));
const Workloads = lazy(() => import("./pages/workloads/WorkloadsPage"));
const Deploy = lazy(() => import("./pages/deploy/DeployPage"));
const Models = lazy(() => import("./pages/models/ModelsPage"));
const ModelDetail = lazy(() => import("./pages/models/ModelDetailPage"));
const Services = lazy(() => import("./pages/services/ServicesPage"));
const Playground = lazy(() => import("./pages/playground/PlaygroundPage"));
const Infrastructure = lazy(() => import("./pages/infrastructure/InfrastructurePage"));
const Storage = lazy(() => import("./pages/storage/StoragePage"));
const Operations = lazy(() => import("./pages/operations/OperationsPage"));
const OperationDetail = lazy(() => import("./pages/operations/OperationDetailPage"));
const Audit = lazy(() => import("./pages/audit/AuditPage"));
const Users = lazy(() => import("./pages/admin/UsersPage"));
const Clusters = lazy(() => import("./pages/admin/ClustersPage"));
const Training = lazy(() => import("./pages/training/TrainingPage"));
const TrainingJob = lazy(() => import("./pages/training/JobPage"));
const Downloads = lazy(() => import("./pages/downloads/DownloadsPage"));
const History = lazy(() => import("./pages/history/HistoryPage"));
const HistoryRun = lazy(() => import("./pages/history/RunPage"));
const HistoryCompare = lazy(() => import("./pages/history/ComparePage"));
const NotFound = lazy(() => import("./pages/NotFoundPage"));

function Page({ children }: { children: ReactNode }) {
  return (
    <Suspense fallback={<div role="status" aria-label="Loading page" style={{ margin: 48 }}><Spin /></div>}>{children}</Suspense>
  );
}

function Authed({ children }: { children: ReactNode }) {
  return (
    <RequireAuth>
      <Shell>
        <Page>{children}</Page>
      </Shell>
    </RequireAuth>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<Page><Login /></Page>} />
      <Route path="/account/password" element={<RequireAuth><Page><ChangePassword /></Page></RequireAuth>} />
      <Route path="/" element={<RequireAuth><HomeRedirect /></RequireAuth>} />
      <Route path="/c/:cluster" element={<Navigate to="overview" replace />} />
      <Route path="/c/:cluster/overview" element={<Authed><Overview /></Authed>} />
      <Route path="/c/:cluster/workloads" element={<Navigate to="pods" replace />} />
      <Route path="/c/:cluster/workloads/:kind" element={<Authed><Workloads /></Authed>} />
      <Route path="/c/:cluster/deploy" element={<Authed><Deploy /></Authed>} />
      <Route path="/c/:cluster/models" element={<Authed><Models /></Authed>} />
      <Route path="/c/:cluster/models/:namespace/:name" element={<Authed><ModelDetail /></Authed>} />
      <Route path="/c/:cluster/services" element={<Authed><Services /></Authed>} />
      <Route path="/c/:cluster/playground" element={<Authed><Playground /></Authed>} />
      <Route path="/c/:cluster/infrastructure" element={<Authed><Infrastructure /></Authed>} />
      <Route path="/c/:cluster/storage" element={<Authed><Storage /></Authed>} />
      <Route path="/c/:cluster/training" element={<Authed><Training /></Authed>} />
      <Route path="/c/:cluster/training/:namespace/:name" element={<Authed><TrainingJob /></Authed>} />
      <Route path="/c/:cluster/downloads" element={<Authed><Downloads /></Authed>} />
      <Route path="/training/history" element={<Authed><History /></Authed>} />
      <Route path="/training/history/:runId" element={<Authed><HistoryRun /></Authed>} />
      <Route path="/training/compare" element={<Authed><HistoryCompare /></Authed>} />
      <Route path="/operations" element={<Authed><Operations /></Authed>} />
      <Route path="/operations/:id" element={<Authed><OperationDetail /></Authed>} />
      <Route path="/audit" element={<Authed><Audit /></Authed>} />
      <Route path="/admin/users" element={<Authed><Users /></Authed>} />
      <Route path="/admin/clusters" element={<Authed><Clusters /></Authed>} />
      <Route path="*" element={<Authed><NotFound /></Authed>} />
    </Routes>
  );
}
