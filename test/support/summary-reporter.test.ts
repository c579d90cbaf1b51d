/**
 * The closing summary counts files that skipped entirely (every test
 * skipped, or none registered) with their reasons, names the missing tools
 * from skip notes, and lists skips that gave no reason.
 */
import { describe, expect, it } from "vitest";
import type { TestModule } from "vitest/node";
import { FAILURE_MESSAGE_CHARS, formatSummary, summarise } from "./summary-reporter.js";

type Fake = { state: "passed" | "failed" | "skipped"; note?: string; name?: string; message?: string };

function mod(file: string, tests: Fake[], state = "passed", loadError?: string): TestModule {
  return {
    moduleId: `/repo/${file}`,
    state: () => state,
    errors: () => (loadError ? [{ message: loadError }] : []),
    children: {
      allTests: () =>
        tests
          .map((t, i) => ({
            fullName: t.name ?? `t${i}`,
            result: () => ({ state: t.state, note: t.note, errors: t.message ? [{ message: t.message }] : undefined }),
          }))
          [Symbol.iterator](),
    },
  } as unknown as TestModule;
}

describe("summary reporter", () => {
  it("counts skipped suites and the tools that are missing", () => {
    const s = summarise(
      [
        mod("test/a.test.ts", [
          { state: "passed" },
          { state: "failed", name: "loss", message: "c61 missed seq 100-180\n  (81): expected 324 to be ≤ 300" },
        ]),
        mod("test/engine/features.test.ts", [{ state: "skipped", note: "missing p4c-bm2-ss: not on PATH" }]),
        mod("test/engine/diff.test.ts", [
          { state: "skipped", note: "missing simple_switch: not on PATH; missing p4c-bm2-ss: not on PATH" },
          { state: "skipped", note: "missing simple_switch: not on PATH; missing p4c-bm2-ss: not on PATH" },
        ]),
        mod("test/empty.test.ts", []),
        mod("test/mixed.test.ts", [{ state: "passed" }, { state: "skipped", name: "quiet one" }]),
        mod("test/broken.test.ts", [], "failed", "Cannot find module './gone.js'"),
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
      failures: [
        { test: "test/a.test.ts > loss", message: "c61 missed seq 100-180 (81): expected 324 to be ≤ 300" },
        { test: "test/broken.test.ts", message: "Cannot find module './gone.js'" },
      ],
    });
    const text = formatSummary(s);
    expect(text).toContain("skipped suite test/engine/features.test.ts: missing p4c-bm2-ss: not on PATH\n");
    expect(text).toContain("skipped without a reason: test/mixed.test.ts > quiet one\n");
    // The failures' messages, one line each, just above the counts: the end of a long log says what failed.
    expect(text.trim().split("\n").slice(-3, -1)).toEqual([
      "failed: test/a.test.ts > loss: c61 missed seq 100-180 (81): expected 324 to be ≤ 300",
      "failed: test/broken.test.ts: Cannot find module './gone.js'",
    ]);
    expect(text.trim().split("\n").pop()).toBe(
      "2 passed, 2 failed, 4 skipped; 3 suites (files) skipped; missing: p4c-bm2-ss, simple_switch",
    );
  });

  it("keeps a long failure message to one line of at most FAILURE_MESSAGE_CHARS characters", () => {
    const long = `first\n${"x".repeat(3 * FAILURE_MESSAGE_CHARS)}`;
    const s = summarise([mod("test/long.test.ts", [{ state: "failed", name: "long", message: long }])], "/repo");
    expect(s.failures[0]!.message.length).toBe(FAILURE_MESSAGE_CHARS);
    expect(s.failures[0]!.message).toMatch(/^first x+…$/);
    expect(
      formatSummary(s)
        .split("\n")
        .filter((l) => l.startsWith("failed: ")),
    ).toHaveLength(1);
  });
});
