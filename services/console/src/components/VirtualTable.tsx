// The long-list body of DataTable: a real <table> that renders only the rows in view (fixed row height,
// spacer rows above and below). antd's virtual Table walks every row on each render (row keys, selection
// maps, flattening) — ~20,000 function calls per frame for the pods list under live changes; this costs
// the visible rows only, and a row re-renders only when its object changed (rows are memoised by
// identity, which the live store keeps for unchanged objects).
import { Empty, Spin, theme } from "antd";
import { memo, useCallback, useEffect, useRef, useState } from "react";
import type { CSSProperties, KeyboardEvent, ReactNode, UIEvent } from "react";

export const ROW_HEIGHT = 39;
const OVERSCAN = 8;

export interface VirtualColumn<T> {
  key: string;
  title: string;
  width: number;
  cell: (row: T) => ReactNode;
}

export type SortOrder = "ascend" | "descend";

interface Props<T> {
  columns: VirtualColumn<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  height: number;
  sort: { key: string; order: SortOrder } | null;
  onSort: (key: string) => void;
  onOpen?: (row: T) => void;
  loading?: boolean;
  empty: string;
  label: string;
}

interface RowProps<T> {
  row: T;
  rowKey: string;
  index: number;
  columns: VirtualColumn<T>[];
  open: ((row: T) => void) | null;
  cellStyle: CSSProperties;
}

function RowImpl<T>({ row, rowKey, index, columns, open, cellStyle }: RowProps<T>) {
  const interactive = open
    ? {
        tabIndex: 0,
        style: { cursor: "pointer" },
        onClick: () => open(row),
        onKeyDown: (e: KeyboardEvent) => {
          if (e.key === "Enter") open(row);
        },
      }
    : {};
  return (
    <tr data-testid={`row-${rowKey}`} data-row-key={rowKey} aria-rowindex={index + 2} className="podium-vrow" {...interactive}>
      {columns.map((c) => (
        <td key={c.key} style={cellStyle}>
          {c.cell(row)}
        </td>
      ))}
    </tr>
  );
}

// Generic memo: the cast keeps the row's type parameter.
const Row = memo(RowImpl) as typeof RowImpl;

function ariaSort(sort: Props<unknown>["sort"], key: string): "ascending" | "descending" | "none" {
  if (sort?.key !== key) return "none";
  return sort.order === "ascend" ? "ascending" : "descending";
}

export function VirtualTable<T>(p: Props<T>) {
  const { token } = theme.useToken();
  const scroller = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const frame = useRef<number | null>(null);
  const onScroll = useCallback((e: UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    // One state update per frame however many scroll events arrive.
    if (frame.current !== null) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      setTop(el.scrollTop);
    });
  }, []);
  useEffect(() => () => {
    if (frame.current !== null) cancelAnimationFrame(frame.current);
  }, []);
  // The rows became fewer (a filter): keep the scroll position inside the list.
  const maxTop = Math.max(0, p.rows.length * ROW_HEIGHT - (p.height - ROW_HEIGHT));
  const scrollTop = Math.min(top, maxTop);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(p.rows.length, Math.ceil((scrollTop + p.height) / ROW_HEIGHT) + OVERSCAN);
  const width = p.columns.reduce((n, c) => n + c.width, 0);
  const border = `1px solid ${token.colorBorderSecondary}`;
  const cellStyle: CSSProperties = useCellStyle(border);
  const openRef = useRef(p.onOpen);
  openRef.current = p.onOpen;
  const openable = !!p.onOpen;
  const open = useCallback((row: T) => openRef.current?.(row), []);
  const headStyle: CSSProperties = {
    position: "sticky", top: 0, zIndex: 1, background: token.colorFillAlter, borderBottom: border,
    padding: 0, textAlign: "left", fontWeight: 600, height: ROW_HEIGHT,
  };  // prettier-ignore
  return (
    <div
      ref={scroller}
      role="region"
      aria-label={p.label}
      tabIndex={0}
      onScroll={onScroll}
      style={{ height: p.height, overflow: "auto", position: "relative", border, borderRadius: token.borderRadius }}
    >
      <style>{`.podium-vrow:hover td, .podium-vrow:focus td { background: ${token.controlItemBgHover}; }`}</style>
      <table
        aria-rowcount={p.rows.length + 1}
        style={{ tableLayout: "fixed", width, minWidth: "100%", borderCollapse: "separate", borderSpacing: 0 }}
      >
        <colgroup>
          {p.columns.map((c) => (
            <col key={c.key} style={{ width: c.width }} />
          ))}
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            {p.columns.map((c) => (
              <th key={c.key} scope="col" aria-sort={ariaSort(p.sort, c.key)} style={headStyle}>
                <button
                  type="button"
                  onClick={() => p.onSort(c.key)}
                  style={{
                    all: "unset", boxSizing: "border-box", width: "100%", height: "100%", padding: "0 8px",
                    cursor: "pointer", display: "flex", alignItems: "center", justifyContent: "space-between",
                  }}  // prettier-ignore
                >
                  <span style={{ overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>{c.title}</span>
                  <span aria-hidden style={{ color: token.colorTextTertiary, fontSize: 10 }}>
                    {p.sort?.key === c.key ? (p.sort.order === "ascend" ? "▲" : "▼") : "↕"}
                  </span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 && (
            <tr aria-hidden style={{ height: first * ROW_HEIGHT }}>
              <td colSpan={p.columns.length} style={{ padding: 0, border: 0 }} />
            </tr>
          )}
          {p.rows.slice(first, last).map((row, i) => {
            const key = p.rowKey(row);
            return (
              <Row<T>
                key={key}
                row={row}
                rowKey={key}
                index={first + i}
                columns={p.columns}
                open={openable ? open : null}
                cellStyle={cellStyle}
              />
            );
          })}
          {last < p.rows.length && (
            <tr aria-hidden style={{ height: (p.rows.length - last) * ROW_HEIGHT }}>
              <td colSpan={p.columns.length} style={{ padding: 0, border: 0 }} />
            </tr>
          )}
        </tbody>
      </table>
      {p.rows.length === 0 && !p.loading && <Empty style={{ margin: 32 }} description={p.empty} />}
      {p.loading && (
        <div style={{ position: "absolute", inset: 0, display: "grid", placeItems: "center" }}>
          <Spin />
        </div>
      )}
    </div>
  );
}

function useCellStyle(border: string): CSSProperties {
  const ref = useRef<{ border: string; style: CSSProperties } | null>(null);
  // One style object per border colour: a new object per render would re-render every memoised row.
  if (ref.current?.border !== border) {
    ref.current = {
      border,
      style: {
        height: ROW_HEIGHT, padding: "0 8px", borderBottom: border, overflow: "hidden",
        textOverflow: "ellipsis", whiteSpace: "nowrap", boxSizing: "border-box",
      },  // prettier-ignore
    };
  }
  return ref.current.style;
}
