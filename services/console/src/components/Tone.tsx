// A coloured label whose colours meet WCAG AA contrast (antd's preset tag colours do not all do).
import { Tag } from "antd";
import type { ReactNode } from "react";

export type Tone = "ok" | "warn" | "bad" | "info" | "neutral" | "accent";

const TONES: Record<Tone, { color: string; background: string; borderColor: string }> = {
  ok: { color: "#1d5e0a", background: "#f0f9e8", borderColor: "#9fd17a" },
  warn: { color: "#7a4300", background: "#fff7e0", borderColor: "#f0c36a" },
  bad: { color: "#a0141b", background: "#fff0f0", borderColor: "#f2a5a5" },
  info: { color: "#174a94", background: "#eef4ff", borderColor: "#9ebbe8" },
  accent: { color: "#5b2a94", background: "#f6f0ff", borderColor: "#c2a6ea" },
  neutral: { color: "#333333", background: "#f5f5f5", borderColor: "#d0d0d0" },
};

export function ToneTag({ tone, children, ...rest }: { tone: Tone; children: ReactNode; [data: `data-${string}`]: unknown }) {
  return (
    <Tag style={TONES[tone]} {...rest}>
      {children}
    </Tag>
  );
}
