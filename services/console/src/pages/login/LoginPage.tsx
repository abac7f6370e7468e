import { Alert, Button, Card, Form, Input, Typography } from "antd";
import { useState } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router-dom";
import { ErrorAlert } from "../../components/ErrorAlert";
import { useSession } from "../../lib/auth/session";

/** Only same-site paths are followed after login (never an absolute URL from the query string). */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export default function LoginPage() {
  const { login, status } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get("next"));
  if (status === "signed-in" && !busy) return <Navigate to={next} replace />;

  const onFinish = async (v: { username: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      await login(v.username, v.password);
      navigate(next, { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main style={{ display: "flex", justifyContent: "center", paddingTop: "12vh", minHeight: "100vh", background: "#f5f5f5" }}>
      <Card style={{ width: 380 }}>
        <Typography.Title level={1} style={{ fontSize: 24 }}>
          Sign in to Podium
        </Typography.Title>
        {params.get("expired") && !error && (
          <Alert type="info" showIcon style={{ marginBottom: 16 }} message="Your session ended. Sign in again." />
        )}
        <ErrorAlert error={error} title="Sign-in failed" />
        <Form layout="vertical" onFinish={onFinish} requiredMark={false}>
          <Form.Item label="Username" name="username" rules={[{ required: true, message: "Enter your username" }]}>
            <Input autoComplete="username" autoFocus data-testid="login-username" />
          </Form.Item>
          <Form.Item label="Password" name="password" rules={[{ required: true, message: "Enter your password" }]}>
            <Input.Password autoComplete="current-password" data-testid="login-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy} data-testid="login-submit">
            Sign in
          </Button>
        </Form>
      </Card>
    </main>
  );
}
