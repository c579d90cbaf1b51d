/**
 * An opt-in test target: simple_switch_grpc with real data ports. Ports 1..n
 * are veth pairs (switch end p4cs<p>, host end p4ch<p>, IPv6 disabled so
 * the kernel stays quiet); the host ends are driven by a small Python
 * AF_PACKET bridge (stdin "<port> <hex>" sends, stdout "<port> <hex>" for
 * every frame received). Needs root (CAP_NET_ADMIN), python3 and
 * simple_switch_grpc; enabled by P4CAST_BMV2_VETH=1.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CPU_PORT, freePort } from "../../support/targets.js";

export interface RawHostPort {
  readonly received: Uint8Array[];
  send(frame: Uint8Array): void;
  waitFor(n: number, timeoutMs?: number): Promise<void>;
}

export interface VethTarget {
  readonly address: string;
  readonly deviceId: bigint;
  readonly thriftPort: number;
  readonly hosts: ReadonlyMap<number, RawHostPort>;
  stop(): Promise<void>;
}

export const vethEnabled = process.env.P4CAST_BMV2_VETH === "1";

const BRIDGE = String.raw`
import os, select, socket, sys
ports = {}
for arg in sys.argv[1:]:
    p, ifname = arg.split("=")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((ifname, 0))
    ports[s.fileno()] = (int(p), s)
by_port = {p: s for (p, s) in ports.values()}
sys.stdout.write("ready\n"); sys.stdout.flush()
buf = b""
while True:
    r, _, _ = select.select([0] + list(ports.keys()), [], [])
    for fd in r:
        if fd == 0:
            data = os.read(0, 65536)
            if not data:
                sys.exit(0)
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                p, hx = line.decode().split()
                by_port[int(p)].send(bytes.fromhex(hx))
        else:
            p, s = ports[fd]
            frame, addr = s.recvfrom(65536)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            sys.stdout.write("%d %s\n" % (p, frame.hex())); sys.stdout.flush()
`;

function sh(args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { stdio: "pipe" });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr?.toString() ?? ""}`);
}

export async function startVethBmv2(ports: readonly number[]): Promise<VethTarget> {
  const deviceId = 1n;
  const grpcPort = await freePort();
  const thriftPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "p4cast-veth-"));
  const links = ports.map((p) => ({ p, sw: `p4cs${p}`, host: `p4ch${p}` }));
  for (const l of links) {
    spawnSync("ip", ["link", "del", l.sw], { stdio: "ignore" });
    sh(["ip", "link", "add", l.sw, "type", "veth", "peer", "name", l.host]);
    for (const i of [l.sw, l.host]) {
      spawnSync("sysctl", ["-qw", `net.ipv6.conf.${i}.disable_ipv6=1`], { stdio: "ignore" });
      sh(["ip", "link", "set", i, "up"]);
    }
  }
  const sw: ChildProcess = spawn(
    "simple_switch_grpc",
    [
      "--no-p4",
      "--device-id",
      String(deviceId),
      "--thrift-port",
      String(thriftPort),
      "--log-file",
      join(dir, "switch"),
      ...links.flatMap((l) => ["-i", `${l.p}@${l.sw}`]),
      "--",
      "--grpc-server-addr",
      `127.0.0.1:${grpcPort}`,
      "--cpu-port",
      String(CPU_PORT),
    ],
    { stdio: "ignore" },
  );
  const bridge = spawn("python3", ["-c", BRIDGE, ...links.map((l) => `${l.p}=${l.host}`)], { stdio: ["pipe", "pipe", "inherit"] });
  const hosts = new Map<number, RawHostPort & { waiters: Array<() => void> }>();
  for (const l of links) {
    const received: Uint8Array[] = [];
    const waiters: Array<() => void> = [];
    hosts.set(l.p, {
      received,
      waiters,
      send: (frame) => bridge.stdin!.write(`${l.p} ${Buffer.from(frame).toString("hex")}\n`),
      waitFor: (n, timeoutMs = 1000) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, timeoutMs);
          const check = (): void => {
            if (received.length >= n) {
              clearTimeout(t);
              resolve();
            } else waiters.push(check);
          };
          check();
        }),
    });
  }
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: bridge.stdout! });
    rl.on("line", (line) => {
      if (line === "ready") return resolve();
      const [p, hex] = line.split(" ");
      const h = hosts.get(Number(p));
      if (!h || !hex) return;
      h.received.push(new Uint8Array(Buffer.from(hex, "hex")));
      for (const w of h.waiters.splice(0)) w();
    });
    bridge.once("exit", (code) => reject(new Error(`raw-socket bridge exited with ${code}`)));
  });
  // Ready = gRPC port accepts connections.
  const { connect } = await import("node:net");
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(grpcPort, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline || sw.exitCode !== null) throw new Error("simple_switch_grpc did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address: `127.0.0.1:${grpcPort}`,
    deviceId,
    thriftPort,
    hosts,
    stop: async () => {
      bridge.stdin?.end();
      bridge.kill("SIGKILL");
      sw.kill("SIGKILL");
      await new Promise((r) => (sw.exitCode !== null || sw.signalCode !== null ? r(undefined) : sw.once("exit", r)));
      for (const l of links) spawnSync("ip", ["link", "del", l.sw], { stdio: "ignore" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether this machine can run the veth target at all. */
export function vethAvailable(): boolean {
  const ok = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
  return vethEnabled && ok("simple_switch_grpc") && ok("python3") && ok("ip");
}
