// The scale dialog's rules: 0 <= min <= desired <= max and max >= 1, each failure named as the server
// names it (infra/schemas.py), so the message in the dialog and a 422 read the same.
import { describe, expect, it } from "vitest";
import { scalingError, targetCountError } from "./scaling";

describe("scalingError", () => {
  it("accepts sizes within the rules, including the edges", () => {
    expect(scalingError({ min: 1, max: 4, desired: 2 })).toBeNull();
    expect(scalingError({ min: 0, max: 1, desired: 0 })).toBeNull();
    expect(scalingError({ min: 3, max: 3, desired: 3 })).toBeNull();
    expect(scalingError({ min: 0, max: 1000, desired: 1000 })).toBeNull();
  });

  it("names max >= 1 when max is 0", () => {
    expect(scalingError({ min: 0, max: 0, desired: 0 })).toBe("max must be at least 1 (got 0)");
  });

  it("names min <= max", () => {
    expect(scalingError({ min: 5, max: 4, desired: 4 })).toBe("min must not exceed max (min 5 > max 4)");
  });

  it("names min <= desired <= max on either side", () => {
    expect(scalingError({ min: 2, max: 4, desired: 1 })).toBe(
      "desired must lie between min and max (min 2 <= desired 1 <= max 4 does not hold)",
    );
    expect(scalingError({ min: 0, max: 4, desired: 5 })).toBe(
      "desired must lie between min and max (min 0 <= desired 5 <= max 4 does not hold)",
    );
  });

  it("checks each field's bounds before the ordering, like the server", () => {
    expect(scalingError({ min: -1, max: 4, desired: 2 })).toBe("min must be between 0 and 1000 (got -1)");
    expect(scalingError({ min: 0, max: 1001, desired: 2 })).toBe("max must be between 0 and 1000 (got 1001)");
    expect(scalingError({ min: 0, max: 4, desired: null })).toBe("desired is required");
    expect(scalingError({ min: 0, max: 4, desired: 1.5 })).toBe("desired must be a whole number (got 1.5)");
  });

  it("reports max >= 1 before min <= max (the server's order)", () => {
    expect(scalingError({ min: 2, max: 0, desired: 0 })).toBe("max must be at least 1 (got 0)");
  });
});

describe("targetCountError", () => {
  it("accepts 0 to 1000 and names the bound otherwise", () => {
    expect(targetCountError(0)).toBeNull();
    expect(targetCountError(1000)).toBeNull();
    expect(targetCountError(-1)).toBe("target count must be between 0 and 1000 (got -1)");
    expect(targetCountError(null)).toBe("target count is required");
  });
});
