// One volume's objects: a breadcrumb of prefixes, folders first then objects (size, last modified,
// storage class), the next page on "Load more" (the listing's cursor), and a download through the
// presigned URL the API hands out.
import { Breadcrumb, Button, message } from "antd";
import { useMemo } from "react";
import { DataTable } from "../../components/DataTable";
import type { Column } from "../../components/DataTable";
import { ErrorAlert } from "../../components/ErrorAlert";
import { errorMessage } from "../../lib/api/errors";
import { crumbs, downloadUrl, formatSize, useObjects } from "./storage";

interface Entry {
  kind: "folder" | "object";
  key: string; // relative to the volume's prefix
  name: string; // relative to the listed prefix
  size: number | null;
  last_modified: string | null;
  storage_class: string | null;
}

interface Props {
  cluster: string;
  pv: string;
  prefix: string;
  onPrefix: (prefix: string) => void;
}

export function ObjectBrowser({ cluster, pv, prefix, onPrefix }: Props) {
  const q = useObjects(cluster, pv, prefix);
  const [toast, toastHolder] = message.useMessage();
  const entries = useMemo<Entry[]>(() => {
    const pages = q.data?.pages ?? [];
    const strip = (k: string) => (k.startsWith(prefix) ? k.slice(prefix.length) : k);
    return [
      ...pages.flatMap((p) =>
        p.folders.map((f): Entry => ({ kind: "folder", key: f, name: strip(f), size: null, last_modified: null, storage_class: null })),
      ),
      ...pages.flatMap((p) =>
        p.objects.map((o): Entry => ({
          kind: "object", key: o.key, name: strip(o.key), size: o.size,
          last_modified: o.last_modified ?? null, storage_class: o.storage_class ?? null,
        })),
      ),
    ];
  }, [q.data, prefix]);

  const download = async (key: string) => {
    try {
      const { url } = await downloadUrl(cluster, pv, key);
      // The presigned URL is a direct S3 GET; a new tab leaves this page (and its live connection) as is.
      window.open(url, "_blank", "noopener,noreferrer");
    } catch (e) {
      void toast.error(errorMessage(e));
    }
  };

  const columns: Column<Entry>[] = [
    {
      key: "name", title: "Name", value: (e) => `${e.kind === "folder" ? "0" : "1"}${e.name}`, width: 360,
      render: (e) =>
        e.kind === "folder" ? (
          <Button type="link" size="small" style={{ padding: 0 }} data-testid={`folder-${e.key}`} onClick={() => onPrefix(e.key)}>
            📁 {e.name}
          </Button>
        ) : (
          <span data-testid={`object-${e.key}`}>{e.name}</span>
        ),
    },
    { key: "size", title: "Size", value: (e) => e.size, width: 110, render: (e) => (e.size === null ? "" : formatSize(e.size)) },
    {
      key: "modified", title: "Last modified", value: (e) => e.last_modified, width: 200,
      render: (e) => (e.last_modified ? new Date(e.last_modified).toLocaleString() : ""),
    },
    { key: "class", title: "Storage class", value: (e) => e.storage_class, width: 130 },
    {
      key: "download", title: "Download", value: () => "", width: 110,
      render: (e) =>
        e.kind === "object" && (
          <Button size="small" data-testid={`download-${e.key}`} aria-label={`Download ${e.name}`} onClick={() => void download(e.key)}>
            Download
          </Button>
        ),
    },
  ];
  const pages = q.data?.pages.length ?? 0;
  return (
    <>
      {toastHolder}
      <nav aria-label="Prefix">
        <Breadcrumb
          data-testid="storage-breadcrumb"
          style={{ marginBottom: 8 }}
          items={crumbs(prefix).map(([p, label], i, all) => ({
            key: p,
            title:
              i === all.length - 1 ? (
                <span aria-current="location" data-testid={`crumb-${label}`}>{label}</span>
              ) : (
                <a href={`#${p}`} data-testid={`crumb-${label}`} onClick={(ev) => { ev.preventDefault(); onPrefix(p); }}>
                  {label}
                </a>
              ),
          }))}
        />
      </nav>
      <ErrorAlert error={q.error} />
      <DataTable
        columns={columns}
        rows={entries}
        rowKey={(e) => `${e.kind}-${e.key}`}
        loading={q.isLoading}
        filterable
        testid="objects-table"
        empty={`Nothing under "${prefix || "/"}"`}
      />
      <div style={{ marginTop: 8 }} data-testid="objects-pages" data-pages={pages} data-more={q.hasNextPage ? "true" : "false"}>
        {q.hasNextPage && (
          <Button data-testid="objects-more" loading={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()}>
            Load more
          </Button>
        )}
        {!q.hasNextPage && pages > 0 && <span style={{ color: "#595959" }}>End of listing ({pages} page{pages === 1 ? "" : "s"})</span>}
      </div>
    </>
  );
}
