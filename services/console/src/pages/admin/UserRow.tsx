// The actions on one user: role, namespace scope, disable, reset password, new API token.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Button, Popconfirm, Select, Space, Switch } from "antd";
import { api, call, rawJson } from "../../lib/api/client";
import type { Role, UserOut } from "../../lib/api/types";

export const ROLES: Role[] = ["viewer", "operator", "admin"];

export function useUserActions(onSecret: (label: string, value: string) => void, onError: (e: unknown) => void) {
  const qc = useQueryClient();
  const done = () => void qc.invalidateQueries({ queryKey: ["users"] });
  const update = useMutation({
    mutationFn: (v: { username: string; role?: Role; namespaces?: string[] | null; disabled?: boolean }) =>
      call(api.PATCH("/api/v1/users/{username}", { params: { path: { username: v.username } }, body: { role: v.role, namespaces: v.namespaces, disabled: v.disabled } })),
    onSuccess: done,
    onError,
  });
  const reset = useMutation({
    mutationFn: (username: string) =>
      rawJson<{ initial_password: string }>(`/api/v1/users/${encodeURIComponent(username)}/password`, "POST"),
    onSuccess: (r, username) => onSecret(`New one-time password for ${username}`, r.initial_password),
    onError,
  });
  const token = useMutation({
    mutationFn: (username: string) =>
      call(api.POST("/api/v1/users/{username}/tokens", { params: { path: { username } }, body: { name: "console", revoke_existing: false } })),
    onSuccess: (r) => onSecret(`New API token for ${r.username}`, r.token),
    onError,
  });
  return { update, reset, token };
}

export function UserActions({ user, actions }: { user: UserOut; actions: ReturnType<typeof useUserActions> }) {
  const u = user.username;
  return (
    <Space wrap>
      <Select
        aria-label={`Role of ${u}`}
        size="small"
        value={user.role}
        style={{ width: 110 }}
        options={ROLES.map((r) => ({ value: r, label: r }))}
        onChange={(role: Role) => actions.update.mutate({ username: u, role })}
        data-testid={`user-role-${u}`}
      />
      <Select
        aria-label={`Namespaces of ${u}`}
        size="small"
        mode="tags"
        placeholder="all namespaces"
        value={user.namespaces ?? []}
        style={{ minWidth: 180 }}
        onChange={(ns: string[]) => actions.update.mutate({ username: u, namespaces: ns.length ? ns : null })}
      />
      <Switch
        aria-label={`${u} disabled`}
        size="small"
        checked={user.disabled}
        onChange={(disabled) => actions.update.mutate({ username: u, disabled })}
        data-testid={`user-disabled-${u}`}
      />
      <Popconfirm title={`Reset ${u}'s password?`} onConfirm={() => actions.reset.mutate(u)}>
        <Button size="small">Reset password</Button>
      </Popconfirm>
      <Popconfirm title={`Create a new API token for ${u}?`} onConfirm={() => actions.token.mutate(u)}>
        <Button size="small">New token</Button>
      </Popconfirm>
    </Space>
  );
}
