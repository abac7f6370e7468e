// The history table's colour rules (the old tool's, kept) and the order of its dynamic tag columns.
import type { Tone } from "../../components/Tone";

/** Instance type: ml.g5.* green, ml.p4d.* blue, ml.p3.* orange, anything else plain. */
export function instanceTone(value: string | undefined): Tone {
  const v = (value ?? "").toLowerCase();
  if (v.startsWith("ml.g5.")) return "ok";
  if (v.startsWith("ml.p4d.")) return "info";
  if (v.startsWith("ml.p3.")) return "warn";
  return "neutral";
}

/** Replica count: ≥ 4 red, ≥ 2 orange, < 2 green; not a number: plain. */
export function replicaTone(value: string | number | undefined): Tone {
  const n = typeof value === "number" ? value : Number.parseFloat(value ?? "");
  if (!Number.isFinite(n)) return "neutral";
  if (n >= 4) return "bad";
  if (n >= 2) return "warn";
  return "ok";
}

/** Samples/s: ≥ 2.0 green, ≥ 1.0 orange, < 0.5 red; between 0.5 and 1.0 (and missing) plain, as before. */
export function samplesTone(value: number | undefined | null): Tone {
  if (value === undefined || value === null || !Number.isFinite(value)) return "neutral";
  if (value >= 2.0) return "ok";
  if (value >= 1.0) return "warn";
  if (value < 0.5) return "bad";
  return "neutral";
}

export const RULES = {
  instance_type: "ml.g5.* green, ml.p4d.* blue, ml.p3.* orange",
  replica_count: "4 or more red, 2–3 orange, fewer than 2 green",
  samples: "train_samples_per_second: 2.0 or more green, 1.0 or more orange, under 0.5 red",
};

/**
 * The tag columns of several pages as one list. Each page comes in the API's order (the known keys
 * first, then the rest alphabetically); a key first seen on a later page is placed right after its
 * predecessor in that page, so the API's relative order holds across pages.
 */
export function mergeTagColumns(pages: string[][]): string[] {
  const out: string[] = [];
  for (const page of pages) {
    page.forEach((key, i) => {
      if (out.includes(key)) return;
      const before = i > 0 ? out.indexOf(page[i - 1]!) : -1;
      out.splice(before + 1, 0, key);
    });
  }
  return out;
}
