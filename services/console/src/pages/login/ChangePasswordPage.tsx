import { Alert, Button, Card, Form, Input, Typography } from "antd";
import { useState } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { ErrorAlert } from "../../components/ErrorAlert";
import { useSession } from "../../lib/auth/session";

export default function ChangePasswordPage() {
  const { me, changePassword } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const next = params.get("next")?.startsWith("/") ? params.get("next")! : "/";

  const onFinish = async (v: { current: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      await changePassword(v.current, v.password);
      navigate(next, { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main style={{ display: "flex", justifyContent: "center", paddingTop: "10vh" }}>
      <Card style={{ width: 420 }}>
        <Typography.Title level={1} style={{ fontSize: 22 }}>
          Change your password
        </Typography.Title>
        {me?.must_change_password && (
          <Alert type="warning" showIcon style={{ marginBottom: 16 }} message="Choose your own password before going on." />
        )}
        <ErrorAlert error={error} />
        <Form layout="vertical" onFinish={onFinish} requiredMark={false}>
          <Form.Item label="Current password" name="current" rules={[{ required: true, message: "Enter your current password" }]}>
            <Input.Password autoComplete="current-password" data-testid="password-current" />
          </Form.Item>
          <Form.Item label="New password" name="password" rules={[{ required: true, message: "Enter a new password" }]}>
            <Input.Password autoComplete="new-password" data-testid="password-new" />
          </Form.Item>
          <Form.Item
            label="New password again"
            name="again"
            dependencies={["password"]}
            rules={[
              { required: true, message: "Repeat the new password" },
              ({ getFieldValue }) => ({
                validator: (_, v) => (v === getFieldValue("password") ? Promise.resolve() : Promise.reject(new Error("The two entries differ"))),
              }),
            ]}
          >
            <Input.Password autoComplete="new-password" data-testid="password-again" />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={busy} data-testid="password-submit">
            Change password
          </Button>
        </Form>
      </Card>
    </main>
  );
}
