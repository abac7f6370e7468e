import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Button, Form, Input, Select } from "antd";
import { useState } from "react";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { PageHeader } from "../../components/PageHeader";
import { api, call } from "../../lib/api/client";
import type { Role, UserOut } from "../../lib/api/types";
import { OnceSecret } from "./OnceSecret";
import { ROLES, UserActions, useUserActions } from "./UserRow";

interface NewUser {
  username: string;
  role: Role;
  namespaces?: string[];
  password?: string;
}

export default function UsersPage() {
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ["users"], queryFn: () => call(api.GET("/api/v1/users")) });
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const actions = useUserActions((label, value) => setSecret({ label, value }), setError);
  const create = useMutation({
    mutationFn: (v: NewUser) =>
      call(api.POST("/api/v1/users", { body: { username: v.username, role: v.role, namespaces: v.namespaces?.length ? v.namespaces : null, ...(v.password ? { password: v.password } : {}) } as never })),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ["users"] });
      const x = r as { username: string; token?: string; initial_password?: string };
      if (x.initial_password) setSecret({ label: `One-time password for ${x.username}`, value: x.initial_password });
      else if (x.token) setSecret({ label: `API token for ${x.username}`, value: x.token });
    },
  });
  const columns: Column<UserOut>[] = [
    { key: "username", title: "User", value: (u) => u.username, width: 160, defaultSort: "ascend" },
    { key: "role", title: "Role", value: (u) => u.role, width: 90 },
    { key: "namespaces", title: "Namespaces", value: (u) => (u.namespaces ?? ["all"]).join(", "), width: 160 },
    { key: "state", title: "State", value: (u) => (u.disabled ? "disabled" : "active"), width: 90 },
    { key: "actions", title: "Actions", value: () => "", width: 640, render: (u) => <UserActions user={u} actions={actions} /> },
  ];
  return (
    <>
      <PageHeader title="Users" />
      {secret && <OnceSecret label={secret.label} value={secret.value} onClose={() => setSecret(null)} />}
      <ErrorAlert error={error} />
      <Form<NewUser> layout="inline" onFinish={(v) => create.mutate(v)} initialValues={{ role: "viewer" }} style={{ marginBottom: 16, rowGap: 8 }} data-testid="user-create">
        <Form.Item label="Username" name="username" rules={[{ required: true, message: "Enter a username" }]}>
          <Input data-testid="user-create-name" autoComplete="off" />
        </Form.Item>
        <Form.Item label="Role" name="role">
          <Select aria-label="Role" style={{ width: 120 }} options={ROLES.map((r) => ({ value: r, label: r }))} />
        </Form.Item>
        <Form.Item label="Namespaces" name="namespaces">
          <Select aria-label="Namespaces" mode="tags" placeholder="all" style={{ minWidth: 160 }} />
        </Form.Item>
        <Form.Item label="Initial password (optional)" name="password">
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={create.isPending} data-testid="user-create-submit">Create user</Button>
      </Form>
      <ErrorAlert error={create.error} />
      <ErrorAlert error={users.error} />
      <DataTable columns={columns} rows={users.data ?? []} rowKey={(u) => u.username} loading={users.isLoading} filterable testid="users-table" empty="No users" />
    </>
  );
}
