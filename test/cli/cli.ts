/**
 * Runs the p4cast CLI as a child process (`node --import tsx src/cli/main.ts`)
 * without blocking this process's event loop, so an embedded switch started
 * in-process keeps answering while the CLI talks to it.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const main = join(repoRoot, "src", "cli", "main.ts");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (throws with the output when it is not). */
  json<T = any>(): T;
}

export interface RunOptions {
  readonly timeoutMs?: number;
  /** Called with each stderr chunk (e.g. to wait for "capturing"). */
  readonly onStderr?: (text: string) => void;
}

export function p4cast(args: readonly string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", main, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`p4cast ${args.join(" ")} did not finish within ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`stdout of p4cast ${args.join(" ")} is not JSON:\n${stdout}\nstderr: ${stderr}`);
          }
        },
      });
    });
  });
}

/** Connection options for a test target. */
export function at(address: string): string[] {
  return ["--grpc", address, "--device-id", "1"];
}
