/**
 * Runs an EmbeddedNetwork in a child process, so that a benchmark or an
 * experiment measures the controller alone (CPU time, memory) while the
 * switches work elsewhere. The child prints one JSON line with the switches'
 * P4Runtime addresses when it is ready and stops when its stdin closes; it
 * also takes commands on stdin ("cut <link>", "restore <link>").
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Topology } from "../controller/topology/schema.js";

const here = dirname(fileURLToPath(import.meta.url));

export interface LabProcess {
  readonly addresses: ReadonlyMap<string, string>;
  readonly child: ChildProcess;
  send(command: string): void;
  stop(): Promise<void>;
}

/** Starts the lab child for `topology`; resolves when every switch listens. */
export async function startLabProcess(topology: Topology): Promise<LabProcess> {
  const dir = mkdtempSync(join(tmpdir(), "p4cast-lab-"));
  const file = join(dir, "topology.json");
  writeFileSync(file, JSON.stringify(topology));
  // Run the TypeScript source through tsx when this module is TypeScript, the build otherwise.
  const isTs = fileURLToPath(import.meta.url).endsWith(".ts");
  const entry = join(here, isTs ? "lab-main.ts" : "lab-main.js");
  const args = isTs ? ["--import", "tsx", entry, file] : [entry, file];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const addresses = await new Promise<Map<string, string>>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`lab process exited with ${code} before it was ready`)));
    lines.once("line", (l) => resolve(new Map(Object.entries(JSON.parse(l) as Record<string, string>))));
  });
  return {
    addresses,
    child,
    send: (c) => child.stdin!.write(`${c}\n`),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin!.end();
      }),
  };
}
