/**
 * The P4Runtime targets the conformance suites run against: the embedded
 * switch always, and a real simple_switch_grpc when it is on PATH (started
 * by the harness on free loopback ports). Suites iterate over `targets()`;
 * an absent BMv2 is reported once with the reason, never silently skipped.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedSwitch } from "../../src/switch/embedded-switch.js";
import { HostPort, VirtualLink } from "../../src/switch/ports/virtual-link.js";
import { RawSocketPort, afpacketAvailable } from "../../src/switch/ports/raw-socket.js";
import { execFileSync } from "node:child_process";

export type TargetKind = "embedded" | "bmv2";

export interface TestTarget {
  readonly kind: TargetKind;
  readonly address: string;
  readonly deviceId: bigint;
  readonly cpuPort: number;
  /** BMv2's Thrift port (bmv2 only). */
  readonly thriftPort?: number;
  /** Host ends of data ports 1..n, where this target offers packet I/O. */
  readonly hosts?: ReadonlyMap<number, HostPort>;
  /** Whether RegisterEntry works over P4Runtime. */
  readonly p4runtimeRegisters: boolean;
  /**
   * Takes data port `port` down or up, where the harness can: the embedded
   * switch's port status; on simple_switch_grpc with veth pairs, the host
   * end of the pair, so that the switch's end loses its carrier (BMv2 reads
   * operstate every 200 ms: this waits for that, and for PI to act on it).
   */
  setPortUp?(port: number, up: boolean): Promise<void>;
  /** simple_switch_grpc: how its process ended (`signal SIGFPE`, `exit code 1`), undefined while it runs. */
  exitStatus?(): string | undefined;
  /** Kills the switch and starts a fresh one (no pipeline) on the same address. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const CPU_PORT = 255;

function onPath(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

export const bmv2Available = onPath("simple_switch_grpc");
export const bmv2SkipReason = "simple_switch_grpc is not on PATH: the BMv2 runs of this suite are skipped (build BMv2 with PI to run them)";

let reported = false;
/** Target kinds to test; prints once why BMv2 is not among them. */
export function targets(): TargetKind[] {
  if (!bmv2Available && !reported) {
    reported = true;
    console.log(`[p4cast tests] ${bmv2SkipReason}`);
  }
  return bmv2Available ? ["embedded", "bmv2"] : ["embedded"];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

export interface StartOptions {
  readonly deviceId?: bigint;
  /** Data ports to create (embedded: virtual links to HostPorts). */
  readonly ports?: readonly number[];
}

export async function startTarget(kind: TargetKind, opts: StartOptions = {}): Promise<TestTarget> {
  return kind === "embedded" ? startEmbedded(opts) : startBmv2(opts);
}

async function startEmbedded(opts: StartOptions): Promise<TestTarget> {
  const deviceId = opts.deviceId ?? 1n;
  const hosts = new Map<number, HostPort>();
  const boot = async (port: number) => {
    const sw = new EmbeddedSwitch({ deviceId, cpuPort: CPU_PORT, logLevel: "off" });
    for (const p of opts.ports ?? [1, 2, 3, 4]) {
      const link = new VirtualLink(`s1-eth${p}`, `h${p}-eth0`);
      sw.attach(p, link.a);
      hosts.set(p, new HostPort(link.b));
    }
    return { sw, port: await sw.listen(`127.0.0.1:${port}`) };
  };
  let { sw, port } = await boot(0);
  return {
    kind: "embedded",
    address: `127.0.0.1:${port}`,
    deviceId,
    cpuPort: CPU_PORT,
    hosts,
    p4runtimeRegisters: true,
    setPortUp: async (p, up) => {
      sw.setPortStatus(p, up);
    },
    restart: async () => {
      await sw.close();
      ({ sw, port } = await boot(port));
    },
    stop: () => sw.close(),
  };
}

/** How often BMv2 reads its interfaces' operstate (PortMonitorActive). */
const BMV2_PORT_POLL_MS = 200;

/** Whether BMv2 targets get real data ports (veth pairs read with raw sockets). */
export const bmv2DataPorts = process.getuid?.() === 0 && afpacketAvailable() && onPath("ip");

/** veth pairs: the switch's end is attached to BMv2, the host's end read by a raw socket. */
function makeVeths(ports: readonly number[]): { pairs: { port: number; sw: string; host: string }[]; remove: () => void } {
  const tag = Math.random().toString(36).slice(2, 7);
  const pairs = ports.map((port) => ({ port, sw: `p4t${tag}${port}s`, host: `p4t${tag}${port}h` }));
  const ip = (...a: string[]) => execFileSync("ip", a, { stdio: "pipe" });
  for (const p of pairs) {
    ip("link", "add", p.sw, "type", "veth", "peer", "name", p.host);
    for (const i of [p.sw, p.host]) {
      // No IPv6 on test links: the kernel would send router solicitations and MLD reports into the switch.
      execFileSync("sysctl", ["-qw", `net.ipv6.conf.${i}.disable_ipv6=1`], { stdio: "pipe" });
      ip("link", "set", i, "up");
    }
  }
  return {
    pairs,
    remove: () => {
      for (const p of pairs) {
        try {
          ip("link", "del", p.sw);
        } catch {
          // already gone
        }
      }
    },
  };
}

async function startBmv2(opts: StartOptions): Promise<TestTarget> {
  const deviceId = opts.deviceId ?? 1n;
  const veths = bmv2DataPorts ? makeVeths(opts.ports ?? [1, 2, 3, 4]) : undefined;
  const grpcPort = await freePort();
  const thriftPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "p4cast-bmv2-"));
  const log = join(dir, "switch.txt");
  const args = [
    "--no-p4",
    "--device-id",
    String(deviceId),
    "--thrift-port",
    String(thriftPort),
    "--log-file",
    join(dir, "switch"),
    "--log-level",
    "warn",
    ...(veths ? veths.pairs.flatMap((p) => ["-i", `${p.port}@${p.sw}`]) : []),
    "--",
    "--grpc-server-addr",
    `127.0.0.1:${grpcPort}`,
    "--cpu-port",
    String(CPU_PORT),
  ];
  let stderr = "";
  const launch = async () => {
    const child: ChildProcess = spawn("simple_switch_grpc", args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    await waitForPort(grpcPort, child, () => `${stderr}${safeRead(log)}`);
    return child;
  };
  const kill = async (child: ChildProcess) => {
    child.kill("SIGKILL");
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once("exit", r)));
  };
  let child = await launch();
  const address = `127.0.0.1:${grpcPort}`;
  const hosts = veths ? new Map(veths.pairs.map((p) => [p.port, new HostPort(new RawSocketPort(p.host))])) : undefined;
  return {
    ...(hosts ? { hosts } : {}),
    kind: "bmv2",
    address,
    deviceId,
    cpuPort: CPU_PORT,
    thriftPort,
    p4runtimeRegisters: false,
    exitStatus: () =>
      child.signalCode !== null ? `signal ${child.signalCode}` : child.exitCode !== null ? `exit code ${child.exitCode}` : undefined,
    ...(veths
      ? {
          setPortUp: async (p: number, up: boolean) => {
            const pair = veths.pairs.find((x) => x.port === p);
            if (!pair) throw new Error(`no veth pair for port ${p}`);
            execFileSync("ip", ["link", "set", pair.host, up ? "up" : "down"], { stdio: "pipe" });
            await new Promise((r) => setTimeout(r, BMV2_PORT_POLL_MS * 3));
          },
        }
      : {}),
    restart: async () => {
      await kill(child);
      child = await launch();
    },
    stop: async () => {
      await kill(child);
      for (const h of hosts?.values() ?? []) h.end.close();
      veths?.remove();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "";
  }
}

/** Ready = the process lives and its gRPC port accepts connections. */
async function waitForPort(port: number, child: ChildProcess, diag: () => string, timeoutMs = 20_000): Promise<void> {
  const { connect } = await import("node:net");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`simple_switch_grpc exited with ${child.exitCode} before listening:\n${diag()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`simple_switch_grpc did not listen on ${port} within ${timeoutMs} ms:\n${diag()}`);
}
