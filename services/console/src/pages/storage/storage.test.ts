import { describe, expect, it } from "vitest";
import { crumbs, formatSize } from "./storage";

describe("storage helpers", () => {
  it("breaks a prefix into breadcrumb steps", () => {
    expect(crumbs("")).toEqual([["", "root"]]);
    expect(crumbs("a/b/")).toEqual([["", "root"], ["a/", "a"], ["a/b/", "b"]]);
  });
  it("formats sizes in binary units", () => {
    expect(formatSize(12)).toBe("12 B");
    expect(formatSize(1536)).toBe("1.5 KiB");
    expect(formatSize(5 * 1024 ** 3)).toBe("5.0 GiB");
  });
});
