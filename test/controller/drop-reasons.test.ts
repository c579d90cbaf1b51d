/** The controller's drop reason table against the program's DROP_* constants (p4/include/headers.p4). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DropReason, dropReasonName } from "../../src/controller/drop-reasons.js";

const headers = readFileSync(join(import.meta.dirname, "../../p4/include/headers.p4"), "utf8");

describe("drop reasons", () => {
  it("are the program's DROP_* constants, every one and no other", () => {
    const inP4 = Object.fromEntries([...headers.matchAll(/const bit<8> DROP_(\w+)\s*=\s*(\d+);/g)].map((m) => [m[1]!, Number(m[2])]));
    expect(Object.keys(inP4).length).toBeGreaterThan(10);
    expect({ ...DropReason }).toEqual(inP4);
  });

  it("name a code, and say which code an unknown one is", () => {
    expect(dropReasonName(16)).toBe("UNTRUSTED_OVERLAY");
    expect(dropReasonName(31)).toBe("reason 31");
  });
});
