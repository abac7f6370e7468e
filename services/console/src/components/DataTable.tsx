// The one table every list uses: column definitions in, an antd Table (or, for long lists, VirtualTable)
// out, with a text filter, sortable columns, keyboard-openable rows and stable data-testids (`row-<key>`).
// Sorting and filtering are done here, incrementally for live lists (sortedRows.ts).
import { Empty, Input, Table, Tooltip } from "antd";
import type { TableColumnsType, TableProps } from "antd";
import { useCallback, useMemo, useRef, useState } from "react";
import type { ReactNode } from "react";
import { SortedRows } from "./sortedRows";
import type { RowsDelta } from "./sortedRows";
import { VirtualTable } from "./VirtualTable";
import type { VirtualColumn } from "./VirtualTable";

export type { RowsDelta } from "./sortedRows";

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
  /** How `rows` differs from the previous `rows` (a live list's view.delta): the sorted view is then
   * updated for those rows only instead of re-sorted. */
  delta?: RowsDelta<T> | null;
  rowKey: (row: T) => string;
  loading?: boolean;
  onOpen?: (row: T) => void;
  /** Show the text filter box (filters on every column's value). */
  filterable?: boolean;
  empty?: string;
  testid?: string;
  height?: number;
  toolbar?: ReactNode;
  /** Checkbox selection of rows by key (e.g. runs to compare); such a table is never row-windowed. */
  selection?: { keys: string[]; onChange: (keys: string[]) => void };
}

type Order = "ascend" | "descend";

function initialSort<T>(columns: Column<T>[]): { key: string; order: Order } | null {
  const c = columns.find((x) => x.defaultSort);
  return c?.defaultSort ? { key: c.key, order: c.defaultSort } : null;
}

export function DataTable<T extends object>(p: Props<T>) {
  const [text, setText] = useState("");
  const [sort, setSort] = useState(() => initialSort(p.columns));
  // Pages may define columns and rowKey inline; the sorter reads the latest through refs so that it is
  // rebuilt (a full sort) only when the sort itself changes.
  const columnsRef = useRef(p.columns);
  columnsRef.current = p.columns;
  const rowKeyRef = useRef(p.rowKey);
  rowKeyRef.current = p.rowKey;
  const sorter = useMemo(() => {
    const column = sort ? columnsRef.current.find((c) => c.key === sort.key) : undefined;
    return new SortedRows<T>(
      (row) => rowKeyRef.current(row),
      column ? column.value : null,
      sort?.order === "descend",
      (row) => columnsRef.current.map((c) => String(c.value(row) ?? "")).join("\u0000"),
    );
  }, [sort]);
  const ordered = sorter.rows(p.rows, p.delta);
  const rows = sorter.filter(text.trim().toLowerCase());
  const columns: TableColumnsType<T> = useMemo(
    () =>
      p.columns.map((c) => ({
        key: c.key,
        title: c.hint ? <Tooltip title={c.hint}><span>{c.title}</span></Tooltip> : c.title,
        width: c.width ?? 160,
        ellipsis: !c.wrapTitle,
        onHeaderCell: c.wrapTitle ? () => ({ style: { whiteSpace: "normal", wordBreak: "break-word" } }) : undefined,
        // Sorting is ours (SortedRows); antd only shows the header's state and reports clicks.
        sorter: true,
        sortOrder: sort?.key === c.key ? sort.order : null,
        render: (_: unknown, row: T) => (c.render ? c.render(row) : String(c.value(row) ?? "")),
      })),
    [p.columns, sort],
  );
  const cells: VirtualColumn<T>[] = useMemo(
    () =>
      p.columns.map((c) => ({
        key: c.key,
        title: c.title,
        width: c.width ?? 160,
        cell: (row: T) => (c.render ? c.render(row) : String(c.value(row) ?? "")),
      })),
    [p.columns],
  );
  // Header clicks cycle ascending → descending → unsorted, as antd's do.
  const onSort = useCallback((key: string) => {
    setSort((s) => (s?.key !== key ? { key, order: "ascend" } : s.order === "ascend" ? { key, order: "descend" } : null));
  }, []);
  const onChange: TableProps<T>["onChange"] = useCallback((_pg: unknown, _f: unknown, s: unknown) => {
    const one = (Array.isArray(s) ? s[0] : s) as { columnKey?: React.Key; order?: Order | null } | undefined;
    setSort(one?.order && one.columnKey !== undefined ? { key: String(one.columnKey), order: one.order } : null);
  }, []);
  const onOpenRef = useRef(p.onOpen);
  onOpenRef.current = p.onOpen;
  const openable = !!p.onOpen;
  const onRow = useCallback(
    (row: T) => {
      const key = rowKeyRef.current(row);
      const attrs: Record<string, unknown> = { "data-testid": `row-${key}`, "data-row-key": key };
      if (openable) {
        Object.assign(attrs, {
          tabIndex: 0,
          style: { cursor: "pointer" },
          onClick: () => onOpenRef.current?.(row),
          onKeyDown: (e: React.KeyboardEvent) => {
            if (e.key === "Enter") onOpenRef.current?.(row);
          },
        });
      }
      return attrs as React.HTMLAttributes<HTMLElement>;
    },
    [openable],
  );
  // Long lists render only the rows in view (VirtualTable); short ones are an ordinary antd Table.
  const virtual = rows.length > 100 && !p.selection;
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
      {virtual ? (
        <VirtualTable<T>
          columns={cells}
          rows={rows}
          rowKey={p.rowKey}
          height={p.height ?? 600}
          sort={sort}
          onSort={onSort}
          onOpen={p.onOpen}
          loading={p.loading}
          empty={p.empty ?? "Nothing here"}
          label={p.testid ? p.testid.replace(/-table$/, "") : "Rows"}
        />
      ) : (
        <Table<T>
          size="small"
          scroll={{ x: true }}
          pagination={false}
          loading={p.loading}
          columns={columns}
          dataSource={rows}
          rowKey={p.rowKey}
          onChange={onChange}
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
          onRow={onRow}
        />
      )}
      <div aria-live="polite" style={{ marginTop: 4, color: "#666" }} data-testid="row-count">
        {rows.length} of {ordered.length} rows
      </div>
    </div>
  );
}
