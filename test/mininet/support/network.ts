/**
 * Test helpers for the Mininet launcher: why a run must be skipped, and a
 * network brought up by `mininet/p4cast_net.py` in its wait mode and torn
 * down by SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afpacketAddonPath, afpacketAvailable, AFPACKET_BUILD_COMMAND } from "../../../src/switch/ports/raw-socket.js";
import { networkNamespacesUnavailable } from "../../../src/lab/mininet-network.js";

export const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const launcher = join(repo, "mininet", "p4cast_net.py");
export const PY = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

export type SwitchKind = "embedded" | "bmv2";

export interface NetworkFile {
  name: string;
  kind: SwitchKind;
  switches: {
    name: string;
    deviceId: number;
    grpc: string;
    thrift: string | null;
    cpuPort: number;
    pid: number;
    log: string;
    pcapDir: string;
    ports: { port: number; peer: string; intf: string; mac: string }[];
  }[];
  hosts: {
    name: string;
    mac: string;
    ipv4: string | null;
    ipv6: string | null;
    intf: string;
    netns: string;
    switch: string;
    port: number;
    gatewayMac: string;
    gatewayV4: string | null;
    gatewayV6: string | null;
    pid: number;
  }[];
}

/** A launcher that is not one of the tests' holds the machine's network lock (see mininet/p4cast_net.py). */
function foreignNetwork(): string | undefined {
  for (const lock of ["/run/lock/p4cast-mininet.lock", "/tmp/p4cast-mininet.lock"]) {
    try {
      const [pid, workdir] = readFileSync(lock, "utf8").trim().split(" ");
      if (!pid || !existsSync(`/proc/${pid}`) || !readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("p4cast_net")) continue;
      if (!workdir?.startsWith("/tmp/p4cast-mininet-test"))
        return `a p4cast Mininet network is running (launcher ${pid}, ${workdir}); its interface names would clash`;
    } catch {
      // no lock file
    }
  }
  return undefined;
}

const onPath = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

/** Why a Mininet run of this kind cannot happen here, or undefined. */
export function mininetSkipReason(kind: SwitchKind): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root (Mininet needs root)";
  if (spawnSync(PY, ["-c", "import mininet.net"], { stdio: "ignore" }).status !== 0)
    return "Mininet is not installed for /usr/bin/python3 (apt-get install -y --no-install-recommends mininet)";
  if (!onPath("ethtool")) return "ethtool is not installed (apt-get install -y ethtool)";
  const ns = networkNamespacesUnavailable();
  if (ns) return ns;
  if (kind === "embedded" && !afpacketAvailable())
    return `the AF_PACKET addon is not built (${afpacketAddonPath()}); run ${AFPACKET_BUILD_COMMAND}`;
  if (kind === "bmv2" && !onPath("simple_switch_grpc")) return "simple_switch_grpc is not on PATH";
  return foreignNetwork();
}

/** The embedded switch command: dist's CLI when it has --interface (dist/ is built when missing), else the fixture runner. */
export function embeddedCommand(log: (m: string) => void): string[] | undefined {
  const main = join(repo, "dist", "cli", "main.js");
  if (!existsSync(main)) {
    const b = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: repo, encoding: "utf8", timeout: 90_000 });
    if (b.status !== 0) log(`building dist/ failed (${(b.stdout + b.stderr).trim().split("\n")[0]}); using the fixture runner`);
  }
  if (existsSync(main) && spawnSync(process.execPath, [main, "switch", "--help"], { encoding: "utf8" }).stdout.includes("--interface"))
    return undefined;
  log("dist/cli/main.js switch has no --interface option yet (docs/mininet.md); running test/mininet/fixtures/switch-main.ts instead");
  return [process.execPath, "--import", "tsx", join(repo, "test", "mininet", "fixtures", "switch-main.ts")];
}

export interface RunningNetwork {
  readonly net: NetworkFile;
  /** The launcher's stdout and stderr so far. */
  output(): string;
  readonly process: ChildProcess;
  /** SIGTERM to the launcher; resolves with its exit code once it has torn down. */
  stop(): Promise<number | null>;
}

export async function startNetwork(opts: {
  kind: SwitchKind;
  topology: string;
  workdir: string;
  extraArgs?: string[];
  log?: (m: string) => void;
  readyMs?: number;
  waitMs?: number;
}): Promise<RunningNetwork> {
  const log = opts.log ?? ((m: string) => console.log(`[p4cast tests] mininet: ${m}`));
  const custom = opts.kind === "embedded" ? embeddedCommand(log) : undefined;
  const args = [
    launcher,
    "--topology",
    opts.topology,
    "--switch",
    opts.kind,
    "--workdir",
    opts.workdir,
    ...(custom ? ["--embedded-command", JSON.stringify(custom)] : []),
    ...(opts.extraArgs ?? []),
  ];
  // One network per machine: another test file's network makes the launcher refuse; wait for it.
  const waitUntil = Date.now() + (opts.waitMs ?? 120_000);
  for (;;) {
    spawnSync(PY, [launcher, "--cleanup", "--workdir", opts.workdir, "--topology", opts.topology], { stdio: "ignore" });
    const proc = spawn(PY, args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    proc.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    proc.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    // "close": after the exit and after stdout/stderr have been read to their end.
    const exited = new Promise<number | null>((r) => proc.once("close", (code) => r(code)));
    const deadline = Date.now() + (opts.readyMs ?? 45_000);
    let busy = false;
    while (!/ready: (\S+)/.test(output)) {
      if (proc.exitCode !== null) {
        await exited;
        busy = output.includes("another p4cast network is running");
        if (busy && Date.now() < waitUntil) break;
        throw new Error(`launcher exited with ${proc.exitCode}:\n${output}`);
      }
      if (Date.now() > deadline) {
        proc.kill("SIGTERM");
        await exited;
        throw new Error(`launcher not ready in time:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (busy) {
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    return running(proc, () => output, exited, opts);
  }
}

function running(
  proc: ChildProcess,
  output: () => string,
  exited: Promise<number | null>,
  opts: { topology: string; workdir: string },
): RunningNetwork {
  const net = JSON.parse(readFileSync(/ready: (\S+)/.exec(output())![1]!, "utf8")) as NetworkFile;
  return {
    net,
    output,
    process: proc,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const code = await exited;
      spawnSync(PY, [launcher, "--cleanup", "--workdir", opts.workdir, "--topology", opts.topology], { stdio: "ignore" });
      return code;
    },
  };
}

export function sh(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
