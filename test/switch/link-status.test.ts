/**
 * Raw interfaces feed the switch's port status from their link state:
 * veth pairs whose peer (or own end) is taken down with `ip link set`, a
 * RawSocketPort watching the switch's end (netlink events, in the addon),
 * and an embedded switch whose multicast group fails over to a backup
 * replica when the primary's interface loses its carrier, over P4Runtime.
 * Prints how long the port took to report each change. Needs root, ip and
 * the built AF_PACKET addon; skips with the reason otherwise.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, expect, it } from "vitest";
import { P4RuntimeClient } from "../../src/client/client.js";
import { encodeUnsigned } from "../../src/p4runtime/codec/bytestring.js";
import {
  BackupReplicaSchema,
  EntitySchema,
  MulticastGroupEntrySchema,
  PacketReplicationEngineEntrySchema,
  ReplicaSchema,
  Update_Type,
  UpdateSchema,
} from "../../src/proto/gen/p4/v1/p4runtime_pb.js";
import { networkNamespacesUnavailable } from "../../src/lab/mininet-network.js";
import { EmbeddedSwitch } from "../../src/switch/embedded-switch.js";
import { AFPACKET_BUILD_COMMAND, afpacketAddonPath, afpacketAvailable, RawSocketPort } from "../../src/switch/ports/raw-socket.js";
import { HostPort } from "../../src/switch/ports/virtual-link.js";
import { fixture } from "../support/fixtures.js";
import { describeUnless } from "../support/skips.js";

const run = promisify(execFile);

const skipReason =
  process.platform !== "linux"
    ? "not Linux"
    : process.getuid?.() !== 0
      ? "not root (veth pairs and raw sockets need root)"
      : spawnSync("ip", ["-V"], { stdio: "ignore" }).status !== 0
        ? "iproute2's ip is not installed"
        : !afpacketAvailable()
          ? `the AF_PACKET addon is not built (${afpacketAddonPath()}); run ${AFPACKET_BUILD_COMMAND}`
          : networkNamespacesUnavailable();

const tag = `${process.pid % 100000}`;
const NS = `p4ct-ls${tag}`;
/** Switch end and host end of the pair of data port `p`. */
const swIf = (p: number) => `p4ls${tag}s${p}`;
const hostIf = (p: number) => `p4ls${tag}h${p}`;
const PORTS = [1, 2, 3] as const;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: "pipe" });
}

function makePair(a: string, b: string, bNetns?: string): void {
  spawnSync("ip", ["link", "del", a], { stdio: "ignore" }); // a leftover of a killed run
  ip("link", "add", a, "type", "veth", "peer", "name", b, ...(bNetns ? ["netns", bNetns] : []));
  // No IPv6: the kernel would send router solicitations and MLD reports into the switch.
  execFileSync("sysctl", ["-qw", `net.ipv6.conf.${a}.disable_ipv6=1`], { stdio: "pipe" });
  ip("link", "set", a, "up");
  if (bNetns) ip("-n", bNetns, "link", "set", b, "up");
  else {
    execFileSync("sysctl", ["-qw", `net.ipv6.conf.${b}.disable_ipv6=1`], { stdio: "pipe" });
    ip("link", "set", b, "up");
  }
}

/** Records a port's link reports with the time each arrived. */
function recorder(port: RawSocketPort): { states: boolean[]; next: (up: boolean, timeoutMs?: number) => Promise<number> } {
  const states: boolean[] = [];
  let waiter: { up: boolean; resolve: (t: number) => void } | undefined;
  port.watchLink((up) => {
    states.push(up);
    if (waiter && waiter.up === up) {
      waiter.resolve(performance.now());
      waiter = undefined;
    }
  });
  return {
    states,
    next: (up, timeoutMs = 2000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no link ${up ? "up" : "down"} report within ${timeoutMs} ms`)), timeoutMs);
        waiter = {
          up,
          resolve: (at) => {
            clearTimeout(t);
            resolve(at);
          },
        };
      }),
  };
}

/** Runs `ip link set <ifname> up|down` without blocking the event loop; `done` resolves with the time the command ended. */
function flip(ifname: string, up: boolean): { started: number; done: Promise<number> } {
  const started = performance.now();
  return { started, done: run("ip", ["link", "set", ifname, up ? "up" : "down"]).then(() => performance.now()) };
}

describeUnless(skipReason, "link state of raw interfaces", () => {
  beforeAll(() => {
    spawnSync("ip", ["netns", "del", NS], { stdio: "ignore" });
    ip("netns", "add", NS);
    for (const p of PORTS) makePair(swIf(p), hostIf(p));
    makePair(swIf(9), hostIf(9), NS);
  });

  afterAll(() => {
    for (const p of [...PORTS, 9]) spawnSync("ip", ["link", "del", swIf(p)], { stdio: "ignore" });
    spawnSync("ip", ["netns", "del", NS], { stdio: "ignore" });
  });

  it("a port reports down when its peer goes down and up when it comes back, within milliseconds (netlink events)", async () => {
    const port = new RawSocketPort(swIf(1));
    try {
      const link = recorder(port);
      expect(link.states).toEqual([true]);
      /** Per change: ms from starting `ip link set` to the report, and from the command's end to the report (negative: before it ended). */
      const afterStart: number[] = [];
      const afterEnd: number[] = [];
      for (let i = 0; i < 10; i++) {
        for (const up of [false, true]) {
          const f = flip(hostIf(1), up);
          const seen = await link.next(up);
          afterStart.push(seen - f.started);
          afterEnd.push(seen - (await f.done));
        }
      }
      expect(link.states).toEqual([true, ...Array.from({ length: 10 }, () => [false, true]).flat()]);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
      const figure = (xs: number[]) => `${median(xs).toFixed(1)} ms (median; max ${Math.max(...xs).toFixed(1)})`;
      console.log(
        `[p4cast tests] link state reported ${figure(afterStart)} after starting \`ip link set\`, ` +
          `${figure(afterEnd)} after the command ended (${afterStart.length} changes)`,
      );
      // Seen by the time the command is seen to end: no polling interval in between.
      expect(median(afterEnd)).toBeLessThan(10);
    } finally {
      port.close();
    }
  });

  it("a port reports its own interface going down, and down for good when the interface is deleted", async () => {
    makePair(swIf(5), hostIf(5));
    const errors: Error[] = [];
    const port = new RawSocketPort(swIf(5), { onError: (e) => errors.push(e) });
    try {
      const link = recorder(port);
      const down = link.next(false);
      ip("link", "set", swIf(5), "down");
      await down;
      const up = link.next(true);
      ip("link", "set", swIf(5), "up");
      await up;
      const gone = link.next(false);
      ip("link", "del", swIf(5));
      await gone;
      expect(link.states).toEqual([true, false, true, false]);
    } finally {
      port.close();
      spawnSync("ip", ["link", "del", swIf(5)], { stdio: "ignore" });
    }
  });

  it("a port opened in another network namespace watches its link there", async () => {
    const port = new RawSocketPort(hostIf(9), { netns: `/run/netns/${NS}` });
    try {
      const link = recorder(port);
      const down = link.next(false);
      ip("link", "set", swIf(9), "down");
      await down;
      const up = link.next(true);
      ip("link", "set", swIf(9), "up");
      await up;
      expect(link.states).toEqual([true, false, true]);
    } finally {
      port.close();
    }
  });

  it("an embedded switch fails a multicast replica over to its backup when the primary's interface loses its carrier", async () => {
    const prog = fixture("replication_test");
    const log: string[] = [];
    const sw = new EmbeddedSwitch({ logLevel: "info", log: (l) => log.push(l) });
    const hosts = new Map<number, HostPort>();
    for (const p of PORTS) {
      sw.attach(p, new RawSocketPort(swIf(p)));
      hosts.set(p, new HostPort(new RawSocketPort(hostIf(p))));
    }
    const address = `127.0.0.1:${await sw.listen()}`;
    const c = await P4RuntimeClient.connect({ address, deviceId: 0n, electionId: 1n, reconnect: false });
    try {
      await c.setPipeline({ p4info: prog.p4info, deviceConfig: prog.deviceConfig, cookie: 1n });
      await c.insert({
        kind: "tableEntry",
        table: "l2",
        match: { "hdr.ethernet.dst_addr": 0xaan },
        action: { name: "set_mcast", params: { group: 1 } },
      });
      const port = (p: number) => encodeUnsigned(BigInt(p), 32);
      const group = create(MulticastGroupEntrySchema, {
        multicastGroupId: 1,
        replicas: [
          create(ReplicaSchema, {
            portKind: { case: "port", value: port(1) },
            instance: 1,
            backupReplicas: [create(BackupReplicaSchema, { port: port(2), instance: 7 })],
          }),
        ],
      });
      await c.writeRaw([
        create(UpdateSchema, {
          type: Update_Type.INSERT,
          entity: create(EntitySchema, {
            entity: {
              case: "packetReplicationEngineEntry",
              value: create(PacketReplicationEngineEntrySchema, { type: { case: "multicastGroupEntry", value: group } }),
            },
          }),
        }),
      ]);
      /** Sends one frame into the group from port 3; returns [port, rid] of the copies ports 1 and 2 got. */
      const send = async () => {
        for (const h of hosts.values()) h.clear();
        const f = new Uint8Array(60);
        f[5] = 0xaa;
        f[12] = 0x88;
        f[13] = 0xb5;
        hosts.get(3)!.send(f);
        await new Promise((r) => setTimeout(r, 200));
        return [1, 2].flatMap((p) =>
          hosts
            .get(p)!
            .received.filter((x) => x[12] === 0x88)
            .map((x) => [p, (x[10]! << 8) | x[11]!]),
        );
      };
      const statusIs = async (p: number, up: boolean) => {
        const deadline = Date.now() + 2000;
        while (sw.isPortUp(p) !== up && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
        expect(sw.isPortUp(p)).toBe(up);
      };
      expect(await send()).toEqual([[1, 1]]);
      ip("link", "set", hostIf(1), "down");
      await statusIs(1, false);
      expect(await send()).toEqual([[2, 7]]);
      ip("link", "set", hostIf(1), "up");
      await statusIs(1, true);
      expect(await send()).toEqual([[1, 1]]);
      expect(log.filter((l) => /port 1 \(p4ls\d+s1\) is (down|up)/.test(l)).map((l) => l.replace(/.* is /, ""))).toEqual(["down", "up"]);
    } finally {
      c.close();
      await sw.close();
      for (const h of hosts.values()) h.end.close();
    }
  });
});
