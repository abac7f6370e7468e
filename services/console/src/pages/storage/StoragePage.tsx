// S3 buckets behind the cluster's S3 CSI volumes: pick a volume, walk its prefixes, download objects.
// The volume and prefix live in the query string, so a listing survives a reload and can be shared.
import { Button, Descriptions, Empty, Select, Space } from "antd";
import { useSearchParams } from "react-router-dom";
import { ErrorAlert } from "../../components/ErrorAlert";
import { PageHeader } from "../../components/PageHeader";
import { useCluster } from "../../lib/clusters";
import { ObjectBrowser } from "./ObjectBrowser";
import { useVolumes } from "./storage";

export default function StoragePage() {
  const cluster = useCluster();
  const [params, setParams] = useSearchParams();
  const volumes = useVolumes(cluster);
  const list = volumes.data?.volumes ?? [];
  const pv = params.get("pv") ?? list[0]?.pv ?? null;
  const prefix = params.get("prefix") ?? "";
  const volume = list.find((v) => v.pv === pv);
  const go = (next: { pv?: string; prefix: string }) => {
    const p = new URLSearchParams(params);
    if (next.pv !== undefined) p.set("pv", next.pv);
    else if (pv) p.set("pv", pv);
    if (next.prefix) p.set("prefix", next.prefix);
    else p.delete("prefix");
    setParams(p);
  };
  return (
    <>
      <PageHeader
        title={`Storage · ${cluster}`}
        extra={<Button onClick={() => void volumes.refetch()} loading={volumes.isFetching}>Reload volumes</Button>}
      />
      <ErrorAlert error={volumes.error} />
      {volumes.data && list.length === 0 && (
        <Empty description="No S3 CSI volumes (driver s3.csi.aws.com) in this cluster's snapshot" data-testid="storage-empty" />
      )}
      {list.length > 0 && (
        <Space direction="vertical" style={{ width: "100%" }}>
          <Space wrap>
            <label htmlFor="storage-pv">Volume</label>
            <Select
              id="storage-pv"
              data-testid="storage-pv"
              style={{ minWidth: 280 }}
              value={pv}
              options={list.map((v) => ({ value: v.pv, label: `${v.pv} (s3://${v.bucket}/${v.prefix})` }))}
              onChange={(next: string) => go({ pv: next, prefix: "" })}
            />
          </Space>
          {volume && (
            <Descriptions size="small" column={4} data-testid="storage-volume">
              <Descriptions.Item label="Bucket">{volume.bucket}</Descriptions.Item>
              <Descriptions.Item label="Prefix">{volume.prefix || "(whole bucket)"}</Descriptions.Item>
              <Descriptions.Item label="Claim">{volume.claim ?? "unbound"}</Descriptions.Item>
              <Descriptions.Item label="Region">{volume.region ?? "cluster's"}</Descriptions.Item>
            </Descriptions>
          )}
          {pv && <ObjectBrowser cluster={cluster} pv={pv} prefix={prefix} onPrefix={(p) => go({ prefix: p })} />}
        </Space>
      )}
    </>
  );
}
