// An object as YAML (the yaml package is loaded only when a detail drawer opens).
import { Spin } from "antd";
import { useEffect, useState } from "react";

export function YamlBlock({ value }: { value: unknown }) {
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    void import("yaml").then((y) => alive && setText(y.stringify(value)));
    return () => {
      alive = false;
    };
  }, [value]);
  if (text === null) return <div role="status" aria-label="Loading YAML"><Spin /></div>;
  return (
    <pre data-testid="yaml" tabIndex={0} aria-label="YAML" style={{ background: "#f6f8fa", padding: 12, overflow: "auto", maxHeight: 480, fontSize: 12 }}>
      {text}
    </pre>
  );
}
