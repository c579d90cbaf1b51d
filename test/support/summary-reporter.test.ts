/**
 * The closing summary counts files that skipped entirely (every test
 * skipped, or none registered) with their reasons, names the missing tools
 * from skip notes, and lists skips that gave no reason.
 */
import { describe, expect, it } from "vitest";
import type { TestModule } from "vitest/node";
import { formatSummary, summarise } from "./summary-reporter.js";

type Fake = { state: "passed" | "failed" | "skipped"; note?: string; name?: string };

function mod(file: string, tests: Fake[], state = "passed"): TestModule {
  return {
    moduleId: `/repo/${file}`,
    state: () => state,
    children: {
      allTests: () =>
        tests
          .map((t, i) => ({ fullName: t.name ?? `t${i}`, result: () => ({ state: t.state, note: t.note, errors: undefined }) }))
          [Symbol.iterator](),
    },
  } as unknown as TestModule;
}

describe("summary reporter", () => {
  it("counts skipped suites and the tools that are missing", () => {
    const s = summarise(
      [
        mod("test/a.test.ts", [{ state: "passed" }, { state: "failed" }]),
        mod("test/engine/features.test.ts", [{ state: "skipped", note: "missing p4c-bm2-ss: not on PATH" }]),
        mod("test/engine/diff.test.ts", [
          { state: "skipped", note: "missing simple_switch: not on PATH; missing p4c-bm2-ss: not on PATH" },
          { state: "skipped", note: "missing simple_switch: not on PATH; missing p4c-bm2-ss: not on PATH" },
        ]),
        mod("test/empty.test.ts", []),
        mod("test/mixed.test.ts", [{ state: "passed" }, { state: "skipped", name: "quiet one" }]),
        mod("test/broken.test.ts", [], "failed"),
      ],
      "/repo",
    );
    expect(s).toEqual({
      passed: 2,
      failed: 2,
      skipped: 4,
      skippedFiles: [
        { file: "test/engine/features.test.ts", reasons: ["missing p4c-bm2-ss: not on PATH"] },
        { file: "test/engine/diff.test.ts", reasons: ["missing simple_switch: not on PATH; missing p4c-bm2-ss: not on PATH"] },
        { file: "test/empty.test.ts", reasons: ["registered no tests"] },
      ],
      missingTools: ["p4c-bm2-ss", "simple_switch"],
      unexplained: ["test/mixed.test.ts > quiet one"],
    });
    const text = formatSummary(s);
    expect(text).toContain("skipped suite test/engine/features.test.ts: missing p4c-bm2-ss: not on PATH\n");
    expect(text).toContain("skipped without a reason: test/mixed.test.ts > quiet one\n");
    expect(text.trim().split("\n").pop()).toBe(
      "2 passed, 2 failed, 4 skipped; 3 suites (files) skipped; missing: p4c-bm2-ss, simple_switch",
    );
  });
});
