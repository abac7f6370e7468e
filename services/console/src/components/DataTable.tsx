// The one table every list uses: column definitions in, a virtualised antd Table out, with a text filter,
// sortable columns, keyboard-openable rows and stable data-testids (`row-<key>`).
import { Empty, Input, Table, Tooltip } from "antd";
import type { TableColumnsType } from "antd";
import { useMemo, useState } from "react";
import type { ReactNode } from "react";

export interface Column<T> {
  key: string;
  title: string;
  /** The value used for sorting and the text filter (and shown when there is no render). */
  value: (row: T) => string | number | null | undefined;
  render?: (row: T) => ReactNode;
  width?: number;
  defaultSort?: "ascend" | "descend";
  /** Long titles wrap onto several lines instead of being cut (dynamic columns such as MLflow tags). */
  wrapTitle?: boolean;
  /** Shown on hover over the column title. */
  hint?: string;
}

interface Props<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  loading?: boolean;
  onOpen?: (row: T) => void;
  /** Show the text filter box (filters on every column's value). */
  filterable?: boolean;
  empty?: string;
  testid?: string;
  height?: number;
  toolbar?: ReactNode;
  /** Checkbox selection of rows by key (e.g. runs to compare). */
  selection?: { keys: string[]; onChange: (keys: string[]) => void };
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a ?? "").localeCompare(String(b ?? ""), undefined, { numeric: true });
}

export function DataTable<T extends object>(p: Props<T>) {
  const [text, setText] = useState("");
  const rows = useMemo(() => {
    const needle = text.trim().toLowerCase();
    if (!needle) return p.rows;
    return p.rows.filter((r) => p.columns.some((c) => String(c.value(r) ?? "").toLowerCase().includes(needle)));
  }, [p.rows, p.columns, text]);
  const columns: TableColumnsType<T> = p.columns.map((c) => ({
    key: c.key,
    title: c.hint ? <Tooltip title={c.hint}><span>{c.title}</span></Tooltip> : c.title,
    width: c.width ?? 160,
    ellipsis: !c.wrapTitle,
    onHeaderCell: c.wrapTitle ? () => ({ style: { whiteSpace: "normal", wordBreak: "break-word" } }) : undefined,
    defaultSortOrder: c.defaultSort,
    sorter: (a: T, b: T) => compare(c.value(a), c.value(b)),
    render: (_: unknown, row: T) => (c.render ? c.render(row) : String(c.value(row) ?? "")),
  }));
  // Virtual scrolling only pays (and only behaves) for long lists.
  const virtual = rows.length > 100;
  return (
    <div data-testid={p.testid}>
      {(p.filterable || p.toolbar) && (
        <div style={{ display: "flex", gap: 8, marginBottom: 8, flexWrap: "wrap" }}>
          {p.filterable && (
            <Input.Search
              aria-label="Filter rows"
              placeholder="Filter"
              allowClear
              style={{ maxWidth: 280 }}
              data-testid="table-filter"
              onChange={(e) => setText(e.target.value)}
            />
          )}
          {p.toolbar}
        </div>
      )}
      <Table<T>
        size="small"
        virtual={virtual}
        scroll={virtual ? { x: columns.length * 160, y: p.height ?? 600 } : { x: true }}
        pagination={false}
        loading={p.loading}
        columns={columns}
        dataSource={rows}
        rowKey={p.rowKey}
        rowSelection={
          p.selection && {
            selectedRowKeys: p.selection.keys,
            // A text title, not the select-all checkbox: antd repeats column titles in an aria-hidden
            // measuring row, where a focusable checkbox is an accessibility error (axe aria-hidden-focus).
            columnTitle: "Select",
            onChange: (keys) => p.selection?.onChange(keys.map(String)),
            getCheckboxProps: (row: T) => ({ "aria-label": `Select ${p.rowKey(row)}` }) as object,
          }
        }
        locale={{ emptyText: <Empty description={p.empty ?? "Nothing here"} /> }}
        onRow={(row) => {
          const key = p.rowKey(row);
          const attrs: Record<string, unknown> = { "data-testid": `row-${key}`, "data-row-key": key };
          if (p.onOpen) {
            Object.assign(attrs, {
              tabIndex: 0,
              style: { cursor: "pointer" },
              onClick: () => p.onOpen?.(row),
              onKeyDown: (e: React.KeyboardEvent) => {
                if (e.key === "Enter") p.onOpen?.(row);
              },
            });
          }
          return attrs as React.HTMLAttributes<HTMLElement>;
        }}
      />
      <div aria-live="polite" style={{ marginTop: 4, color: "#666" }} data-testid="row-count">
        {rows.length} of {p.rows.length} rows
      </div>
    </div>
  );
}
