// The node-group scaling rules, checked as the user types so the dialog can say what is wrong before the
// request is sent. They are EKS's rules, enforced by the server (infra/schemas.py `Scaling`), which stays
// the authority: the messages are the server's own sentences, so the same rule reads the same in the
// dialog and in a 422 (which ErrorAlert shows if the two ever disagree).

export interface Sizes {
  min: number | null;
  max: number | null;
  desired: number | null;
}

export const SIZE_LIMIT = 1000;

/** The first broken rule as the server words it, or null when the sizes are valid. */
export function scalingError(s: Sizes): string | null {
  for (const field of ["min", "max", "desired"] as const) {
    const v = s[field];
    if (v === null || Number.isNaN(v)) return `${field} is required`;
    if (!Number.isInteger(v)) return `${field} must be a whole number (got ${v})`;
    if (v < 0 || v > SIZE_LIMIT) return `${field} must be between 0 and ${SIZE_LIMIT} (got ${v})`;
  }
  const min = s.min as number;
  const max = s.max as number;
  const desired = s.desired as number;
  if (max < 1) return `max must be at least 1 (got ${max})`;
  if (min > max) return `min must not exceed max (min ${min} > max ${max})`;
  if (!(min <= desired && desired <= max)) {
    return `desired must lie between min and max (min ${min} <= desired ${desired} <= max ${max} does not hold)`;
  }
  return null;
}

/** HyperPod instance groups have one number: the target count (0 to 1000). */
export function targetCountError(n: number | null): string | null {
  if (n === null || Number.isNaN(n)) return "target count is required";
  if (!Number.isInteger(n)) return `target count must be a whole number (got ${n})`;
  if (n < 0 || n > SIZE_LIMIT) return `target count must be between 0 and ${SIZE_LIMIT} (got ${n})`;
  return null;
}
