/**
 * Smoke test of the Mininet launcher (mininet/p4cast_net.py): brings up
 * examples/line3.yaml with embedded switches on raw interfaces, checks that
 * every switch answers P4Runtime arbitration on its gRPC address, that every
 * host got its addresses, routes and gateway neighbor entries, and that a
 * host's frame reaches its switch; then tears the network down and checks
 * that no interface, namespace name or process is left. Needs root,
 * Debian's Mininet and the AF_PACKET addon; skips with the reason otherwise.
 *
 * The switches run `node dist/cli/main.js switch --interface ...` when dist/
 * has that option (dist/ is built first when missing), else the stand-in
 * test/mininet/fixtures/switch-main.ts (the run says which).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { P4RuntimeClient } from "../../src/client/client.js";
import { afpacketAddonPath, afpacketAvailable, AFPACKET_BUILD_COMMAND } from "../../src/switch/ports/raw-socket.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const launcher = join(repo, "mininet", "p4cast_net.py");
const topology = join(repo, "examples", "line3.yaml");
const workdir = "/tmp/p4cast-mininet-test";
const PY = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

interface NetworkFile {
  switches: { name: string; deviceId: number; grpc: string; pid: number; pcapDir: string; ports: { port: number; intf: string; mac: string }[] }[];
  hosts: { name: string; mac: string; ipv4: string | null; ipv6: string | null; intf: string; netns: string; gatewayMac: string; gatewayV4: string | null; gatewayV6: string | null; pid: number }[];
}

function liveDefaultRun(): boolean {
  try {
    const st = JSON.parse(readFileSync("/tmp/p4cast-mininet/state.json", "utf8")) as { launcher?: number };
    return st.launcher !== undefined && existsSync(`/proc/${st.launcher}`);
  } catch {
    return false;
  }
}

const skipReason =
  process.platform !== "linux"
    ? "not Linux"
    : process.getuid?.() !== 0
      ? "not root (Mininet needs root)"
      : spawnSync(PY, ["-c", "import mininet.net, yaml"], { stdio: "ignore" }).status !== 0
        ? "Mininet is not installed for /usr/bin/python3 (apt-get install -y mininet python3-yaml)"
        : !afpacketAvailable()
          ? `the AF_PACKET addon is not built (${afpacketAddonPath()}); run ${AFPACKET_BUILD_COMMAND}`
          : liveDefaultRun()
            ? "a p4cast Mininet network is running (/tmp/p4cast-mininet); its interface names would clash"
            : undefined;
if (skipReason) console.log(`[p4cast tests] mininet launcher: skipped: ${skipReason}`);

/** The embedded switch command: dist's CLI when it has --interface, else the fixture runner. */
function embeddedCommand(): string[] | undefined {
  const main = join(repo, "dist", "cli", "main.js");
  if (!existsSync(main)) {
    const b = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: repo, encoding: "utf8", timeout: 90_000 });
    if (b.status !== 0) console.log(`[p4cast tests] mininet launcher: building dist/ failed (${(b.stdout + b.stderr).trim().split("\n")[0]}); using the fixture runner`);
  }
  if (existsSync(main) && spawnSync(process.execPath, [main, "switch", "--help"], { encoding: "utf8" }).stdout.includes("--interface")) return undefined;
  console.log("[p4cast tests] mininet launcher: dist/cli/main.js switch has no --interface option yet (docs/mininet.md); running test/mininet/fixtures/switch-main.ts instead");
  return [process.execPath, "--import", "tsx", join(repo, "test", "mininet", "fixtures", "switch-main.ts")];
}

function sh(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(skipReason !== undefined)("Mininet launcher (line3, embedded switches)", () => {
  let proc: ChildProcess;
  let output = "";
  let net: NetworkFile;
  let exitCode: number | null = null;
  const exited = () => new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once("exit", () => r())));

  beforeAll(async () => {
    spawnSync(PY, [launcher, "--cleanup", "--workdir", workdir, "--topology", topology], { stdio: "ignore" });
    const custom = embeddedCommand();
    const args = [launcher, "--topology", topology, "--switch", "embedded", "--workdir", workdir, ...(custom ? ["--embedded-command", JSON.stringify(custom)] : [])];
    proc = spawn(PY, args, { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    proc.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    proc.once("exit", (code) => (exitCode = code));
    const deadline = Date.now() + 40_000;
    while (!/ready: (\S+)/.test(output)) {
      if (proc.exitCode !== null) throw new Error(`launcher exited with ${proc.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`launcher not ready in 40 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    net = JSON.parse(readFileSync(/ready: (\S+)/.exec(output)![1]!, "utf8")) as NetworkFile;
  }, 90_000);

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill("SIGTERM");
      await exited();
    }
    spawnSync(PY, [launcher, "--cleanup", "--workdir", workdir, "--topology", topology], { stdio: "ignore" });
  }, 30_000);

  it("prints every switch's gRPC address", () => {
    for (const s of ["s1", "s2", "s3"]) expect(output).toMatch(new RegExp(`${s} \\(embedded, device \\d\\): gRPC 127\\.0\\.0\\.1:5000\\d`));
    expect(net.switches.map((s) => s.name)).toEqual(["s1", "s2", "s3"]);
  });

  it("every switch answers P4Runtime arbitration on its gRPC address", async () => {
    for (const s of net.switches) {
      const c = await P4RuntimeClient.connect({ address: s.grpc, deviceId: s.deviceId, electionId: 1n, reconnect: false, connectTimeoutMs: 5000 });
      expect(c.isPrimary, s.name).toBe(true);
      c.close();
    }
  });

  it("names switch interfaces <switch>-eth<port> with the port MACs", () => {
    const ports = net.switches.flatMap((s) => s.ports.map((p) => `${p.intf} ${p.mac}`)).sort();
    expect(ports).toEqual(
      ["s1-eth1", "s1-eth2", "s2-eth1", "s2-eth2", "s3-eth1", "s3-eth2", "s3-eth3"].map((i) => `${i} 02:50:00:00:0${i[1]}:0${i[6]}`),
    );
    for (const s of net.switches) for (const p of s.ports) expect(readFileSync(`/sys/class/net/${p.intf}/address`, "utf8").trim()).toBe(p.mac);
  });

  it("every host got its MAC, addresses, default routes and permanent gateway neighbors", () => {
    expect(net.hosts.map((h) => h.name)).toEqual(["h1", "h2", "h3"]);
    for (const h of net.hosts) {
      const addr = JSON.parse(sh(["ip", "-n", h.netns, "-j", "addr", "show", "dev", h.intf]).stdout) as { address: string; addr_info: { local: string; prefixlen: number }[] }[];
      expect(addr[0]?.address, h.name).toBe(h.mac);
      const locals = addr[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
      expect(locals, h.name).toContain(h.ipv4);
      expect(locals, h.name).toContain(h.ipv6);
      expect(sh(["ip", "-n", h.netns, "-4", "route", "show", "default"]).stdout, h.name).toContain(`default via ${h.gatewayV4} dev ${h.intf}`);
      expect(sh(["ip", "-n", h.netns, "-6", "route", "show", "default"]).stdout, h.name).toContain(`default via ${h.gatewayV6} dev ${h.intf}`);
      const neigh = sh(["ip", "-n", h.netns, "neigh", "show", "dev", h.intf]).stdout;
      expect(neigh, h.name).toContain(`${h.gatewayV4} lladdr ${h.gatewayMac} PERMANENT`);
      expect(neigh, h.name).toContain(`${h.gatewayV6} lladdr ${h.gatewayMac} PERMANENT`);
      expect(h.gatewayV4, h.name).toMatch(/\.254$/);
      expect(h.gatewayV6, h.name).toMatch(/::ff$/);
      const feats = sh(["ip", "netns", "exec", h.netns, "ethtool", "-k", h.intf]).stdout;
      expect(feats, h.name).toMatch(/tx-checksumming: off/);
      expect(feats, h.name).toMatch(/rx-checksumming: off/);
    }
  });

  it("a host's UDP datagram reaches its switch's port as sent", async () => {
    const h1 = net.hosts.find((h) => h.name === "h1")!;
    const marker = `p4cast-mininet-smoke-${process.pid}`;
    const send = `require("node:dgram").createSocket("udp4").send(${JSON.stringify(marker)}, 5000, "10.0.3.2", (e, n) => process.exit(e ? 1 : 0))`;
    expect(sh(["ip", "netns", "exec", h1.netns, process.execPath, "-e", send]).status).toBe(0);
    const pcap = join(net.switches[0]!.pcapDir, "s1-port1-in.pcap");
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !(existsSync(pcap) && readFileSync(pcap).includes(marker))) await new Promise((r) => setTimeout(r, 100));
    const bytes = readFileSync(pcap);
    const at = bytes.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    // Ethernet header of that frame: 14 + 20 (IPv4) + 8 (UDP) bytes before the payload.
    const eth = bytes.subarray(at - 42, at - 28);
    expect(eth.subarray(0, 6).toString("hex")).toBe(h1.gatewayMac.replaceAll(":", ""));
    expect(eth.subarray(6, 12).toString("hex")).toBe(h1.mac.replaceAll(":", ""));
  });

  it("tears down on SIGTERM leaving no interface, namespace name or process", async () => {
    const pids = [...net.switches.map((s) => s.pid), ...net.hosts.map((h) => h.pid)];
    proc.kill("SIGTERM");
    await exited();
    expect(exitCode, output).toBe(0);
    const intfs = [...net.switches.flatMap((s) => s.ports.map((p) => p.intf))];
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && intfs.some((i) => existsSync(`/sys/class/net/${i}`))) await new Promise((r) => setTimeout(r, 100));
    expect(intfs.filter((i) => existsSync(`/sys/class/net/${i}`))).toEqual([]);
    expect(sh(["ip", "netns", "list"]).stdout).not.toMatch(/p4cast-h\d/);
    expect(pids.filter((p) => existsSync(`/proc/${p}`) && !readFileSync(`/proc/${p}/stat`, "utf8").includes(") Z "))).toEqual([]);
    expect(existsSync(join(workdir, "state.json"))).toBe(false);
  }, 30_000);
});
