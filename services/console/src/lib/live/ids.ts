// Stream ids are `<ms>-<seq>`: compared numerically, never as strings (docs/realtime.md).

function parse(id: string): [number, number] {
  const [ms, seq] = id.split("-");
  return [Number(ms), Number(seq ?? 0)];
}

export function compareIds(a: string, b: string): number {
  const [am, as] = parse(a);
  const [bm, bs] = parse(b);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}
