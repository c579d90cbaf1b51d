import { defineConfig } from "vitest/config";

/**
 * Suites that start a whole network (eight switch processes, controllers,
 * streams whose every packet is counted) run one file at a time, after the
 * rest: two of them at once on a two-core machine starve each other's
 * switches, and a starved switch drops packets no redundancy can save.
 * Everything else runs in parallel.
 */
const LABS = [
  "test/faults/**/*.test.ts",
  "test/controller/{e2e,repair-window,heartbeat-dataplane}.test.ts",
  "test/experiments/**/*.test.ts",
  "test/mininet/{launcher,robustness,forwarding,session}.test.ts",
  "test/cli/demo.test.ts",
  "test/live/{page,metrics}.test.ts",
];

const common = {
  // gRPC servers and switch processes are started per file; let a slow
  // target (a real simple_switch_grpc) take its time.
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: "forks" as const,
};

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      { extends: true, test: { ...common, name: "unit", include: ["test/**/*.test.ts"], exclude: LABS, sequence: { groupOrder: 0 } } },
      { extends: true, test: { ...common, name: "labs", include: LABS, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
