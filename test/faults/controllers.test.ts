/**
 * Controller faults with `p4cast deploy --run` processes: two controllers
 * on one topology (the primary is killed; the backup takes over on every
 * switch through P4Runtime arbitration, recovers the receiver that joined
 * from the switches, reconciles with no writes, and goes on repairing), and
 * a rival client that takes primary on a switch, changes it and leaves (its
 * changes are undone; a repair that could not be written meanwhile is
 * written then).
 */
import { afterEach, describe, expect, it } from "vitest";
import { describeUnless } from "../support/skips.js";
import { P4RuntimeClient } from "../../src/client/client.js";
import { readState, type SwitchState } from "../../src/controller/deploy/reconcile.js";
import { readRunStates } from "../../src/cli/run-state.js";
import { GROUP_BANK_B } from "../../src/controller/plan/intent.js";
import { planNetwork } from "../../src/controller/plan/network-plan.js";
import { NetworkGraph } from "../../src/controller/topology/graph.js";
import { buildFrame, buildIgmpV2, IgmpType, ipv4MulticastMac } from "../../src/packet/index.js";
import {
  faultKinds,
  hostLossNote,
  lossReport,
  sendStreams,
  sessionStream,
  settleAll,
  startFaultLab,
  type FaultLab,
  type Kind,
} from "./support.js";

const { kinds, skipped } = faultKinds();
for (const why of skipped) console.log(`[p4cast tests] fault suite (controllers) skipped for ${why}`);

let lab: FaultLab | undefined;
const opened: P4RuntimeClient[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) c.close();
  await lab?.stop();
  lab = undefined;
});

const RATE_MS = 5;
/** Packets (40 × 5 ms = 200 ms) that may be in flight through the switches when a link is cut. */
const IN_FLIGHT = 40;
/** The packet before which the primary is killed. */
const KILL_SEQ = 150;

async function client(lab: FaultLab, sw: string, electionId: bigint): Promise<P4RuntimeClient> {
  const spec = lab.topology.switches.find((s) => s.name === sw)!;
  const c = await P4RuntimeClient.connect({ address: spec.grpc, deviceId: BigInt(spec.deviceId), electionId, reconnect: false });
  opened.push(c);
  expect(c.hasP4Info, `${sw} has the pipeline (the client read its P4Info)`).toBe(true);
  return c;
}

/** A switch's entries and groups, with group banks folded, as comparable text. */
function normalized(st: SwitchState): { entries: string[]; groups: string[] } {
  const big = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
  return {
    entries: [...st.entries].map(([id, e]) => `${id} => ${e.value}`).sort(),
    groups: [...st.groups]
      .map(
        ([g, r]) =>
          `${g & ~GROUP_BANK_B}: ${JSON.stringify(
            [...r].map((x) => [x.port, x.instance ?? 0]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!),
            big,
          )}`,
      )
      .sort(),
  };
}

async function twoControllers(kind: Kind): Promise<void> {
  lab = await startFaultLab(kind);
  const primary = await lab.startController(20, "primary");
  const backup = await lab.startController(10, "backup");
  await backup.waitFor(/^backup on s1, s2, s3, s4, s5, s6, s7, s8:/, 10_000);
  const t = lab.topology;
  const [s1, s2] = t.sessions;

  // c62 joins session 2 (tree-only) with IGMP; the primary adds it.
  const c62 = t.hosts.find((h) => h.name === "c62")!;
  const joinAt = performance.now();
  lab.net.hosts.get("c62")!.send(
    buildFrame({
      ethernet: { src: c62.mac, dst: ipv4MulticastMac(s2!.group) },
      packet: {
        ip: { version: 4, src: c62.ipv4!.split("/")[0]!, dst: s2!.group, ttl: 1, options: new Uint8Array([0x94, 0x04, 0, 0]) },
        l4: { kind: "raw", protocol: 2, bytes: buildIgmpV2({ type: IgmpType.V2_REPORT, group: s2!.group }) },
      },
    }),
  );
  await primary.waitFor(/membership: c62 joined session 2/, 10_000, joinAt);
  await primary.waitFor(/repair after|writes on/, 10_000, joinAt);

  const streams = [sessionStream(lab, s1!), sessionStream(lab, s2!, ["c62"])];
  const g = new NetworkGraph(t);
  const sp = planNetwork({ graph: g }).sessions.get(2)!;
  const branch = sp.tree.branch.get("s8")!;
  const cut = branch[branch.length - 1]!.link;
  let killAt = 0;
  let takeoverMs = 0;
  let takeoverWrites = 0;
  let cutSeq = 0;
  let cutAt = 0;
  const TOTAL = 1000;
  await sendStreams(streams, TOTAL, RATE_MS, async (i) => {
    if (i === KILL_SEQ) {
      killAt = performance.now();
      await primary.kill("SIGKILL");
      const done = await Promise.all(
        t.switches.map((s) =>
          backup.waitFor(new RegExp(`^\\S+ ${s.name}: reconciled after taking over in [\\d.]+ ms \\((\\d+) writes\\)`), 15_000, killAt),
        ),
      );
      takeoverMs = Math.max(...done.map((d) => d.atMs)) - killAt;
      takeoverWrites = done.reduce((n, d) => n + Number(/\((\d+) writes\)/.exec(d.text)![1]), 0);
    }
    if (i === 500) {
      // The new primary keeps watching links and repairing.
      cutSeq = i;
      const at = performance.now();
      cutAt = at;
      lab!.net.link(cut).cut();
      await backup.waitFor(new RegExp(`link ${g.linkName(cut)} down`), 10_000, at);
      await backup.waitFor(/repair after \S+ down: /, 10_000, at);
    }
  });
  await settleAll(streams);

  expect(backup.alive, `the backup exited: ${JSON.stringify(backup.exit)}`).toBe(true);
  expect(backup.linesSince(killAt, /receivers recovered from the switches: c62 joined session 2/).length).toBe(1);
  const [redundant, treeOnly] = streams;
  // The take-over is judged on the packets sent from the kill until 200 ms before the later cut: the
  // last ones before the cut may still be inside the switches when the link goes (a loaded machine
  // holds them for tens of ms).
  const beforeCut = (st: typeof treeOnly) => lossReport(st!, cutSeq - IN_FLIGHT, [...st!.logs.keys()], KILL_SEQ);
  const treeOnlyLost = [...treeOnly!.logs.values()].reduce((n, l) => n + (TOTAL - new Set(l.seqs).size), 0);
  console.log(
    `[faults] ${kind}: primary killed; backup primary on all ${t.switches.length} switches ` +
      `and reconciled in ${takeoverMs.toFixed(0)} ms with ${takeoverWrites} writes; ` +
      `always-redundant lost ${lossReport(redundant!, TOTAL).length ? lossReport(redundant!, TOTAL).join("; ") : "nothing"}; ` +
      `tree-only lost ${treeOnlyLost} packets over ${treeOnly!.logs.size} clients ` +
      `(all after the later link cut: ${beforeCut(treeOnly).length === 0})`,
  );
  // When the two controllers saw the same network (no link verdict in either before the kill), the take-over
  // writes nothing. A busy machine can make one of them see a link flap the other did not; the take-over
  // then writes the difference, which is what it is for.
  const verdicts = [
    ...primary.linesSince(0, / link \S+ (down|up)/),
    ...backup.linesSince(0, / link \S+ (down|up)/).filter((l) => l.atMs < killAt),
  ];
  const backupLog = () =>
    `backup's log from the kill on:\n${backup
      .linesSince(killAt, /./)
      .slice(0, 60)
      .map((l) => `  +${(l.atMs - killAt).toFixed(0)} ms ${l.text}`)
      .join("\n")}`;
  if (verdicts.length === 0) expect(takeoverWrites, backupLog()).toBe(0);
  else
    console.log(
      `[faults] ${kind}: link verdicts before the kill (${verdicts.map((l) => l.text.replace(/^\S+ /, "")).join("; ")}): ` +
        `take-over wrote ${takeoverWrites}`,
    );
  // always-redundant: nothing lost or duplicated anywhere, across the take-over and the later cut.
  expect(lossReport(redundant!, TOTAL), `${hostLossNote(lab!)}\n${backupLog()}`).toEqual([]);
  // tree-only (with the joined c62): nothing lost across the take-over itself, unless a switch the
  // machine starved missed heartbeats meanwhile (a link verdict: a tree-only session has no second copy).
  const flaps = backup.linesSince(killAt, / link \S+ (down|up)/).filter((l) => l.atMs < cutAt);
  if (flaps.length === 0) expect(beforeCut(treeOnly), `${hostLossNote(lab!)}\n${backupLog()}`).toEqual([]);
  else
    console.log(
      `[faults] ${kind}: link verdicts during the take-over (${flaps.map((l) => l.text.replace(/^\S+ /, "")).join("; ")}): ` +
        `tree-only losses ${beforeCut(treeOnly).join("; ") || "none"}`,
    );
}

async function rival(kind: Kind): Promise<void> {
  lab = await startFaultLab(kind);
  const ctl = await lab.startController(10);
  const t = lab.topology;
  const g = new NetworkGraph(t);
  const base = planNetwork({ graph: g });
  // The rival takes a switch of session 1's tree, and a link is cut whose repair must write that switch.
  const sp = base.sessions.get(1)!;
  const target = [...sp.tree.branch.values()].flatMap((b) => b.slice(0, -1).map((a) => a.to)).sort()[0]!;
  const cut = t.links.findIndex((_, link) => {
    const g2 = new NetworkGraph(t);
    g2.setLinkUp(link, false);
    const a = JSON.stringify([...base.intents.get(target)!.groups]);
    const b = JSON.stringify([...planNetwork({ graph: g2 }).intents.get(target)!.groups]);
    return a !== b && !g.allAdjacencies(target).some((x) => x.link === link);
  });
  expect(cut, `a link whose cut changes ${target}'s groups`).toBeGreaterThanOrEqual(0);

  const observer = await client(lab, target, 1n);
  const before = normalized(await readState(observer));
  const streams = [sessionStream(lab, t.sessions[0]!), sessionStream(lab, t.sessions[1]!)];
  let resumeFrom = 0;
  const TOTAL = 900;
  await sendStreams(streams, TOTAL, RATE_MS, async (i) => {
    if (i !== 100) return;
    const at = performance.now();
    const r = await client(lab!, target, 50n);
    expect(r.isPrimary).toBe(true);
    await ctl.waitFor(new RegExp(`${target}: lost primary to election id 50`), 10_000, at);
    // The rival deletes every multicast group of the switch.
    const groups = await r.readAll({ kind: "multicastGroup" });
    await r.write(
      groups.map((x) => ({
        type: "delete" as const,
        entity: { kind: "multicastGroup" as const, groupId: (x as { groupId: number }).groupId },
      })),
    );
    // A link cut now needs a write on the switch the rival holds: deferred, not fatal.
    const cutAt = performance.now();
    lab!.net.link(cut).cut();
    await ctl
      .waitFor(/repair after \S+ down: .*deferred on [^;]*\b/, 10_000, cutAt)
      .catch(async () => ctl.waitFor(new RegExp(`fault: repair on ${target}`), 1, cutAt));
    // The rival leaves: the controller is primary again and reconciles.
    const leftAt = performance.now();
    r.close();
    await ctl.waitFor(new RegExp(`${target}: reconciled after taking over`), 10_000, leftAt);
    // The link comes back; the network returns to the state before the rival.
    const restoredAt = performance.now();
    lab!.net.link(cut).restore();
    const name = escapeRe(g.linkName(cut));
    await ctl.waitFor(new RegExp(`repair after ${name} up: `), 15_000, restoredAt);
    resumeFrom = i + 10;
  });
  await settleAll(streams);
  expect(ctl.alive, `the controller exited: ${JSON.stringify(ctl.exit)}`).toBe(true);
  expect(ctl.linesSince(0, /fault: unexpected/).map((l) => l.text)).toEqual([]);
  // The rival's deletions are undone: the switch holds every group it held before, none empty. (Overlay
  // paths stay pinned while their links are up, so a heartbeat verdict of a busy machine meanwhile may
  // have moved routes: the entries are compared with the controller's own view below, not with before.)
  const after = normalized(await readState(observer));
  expect(after.groups.map((x) => x.split(":")[0])).toEqual(before.groups.map((x) => x.split(":")[0]));
  for (const g of after.groups) expect(g).not.toMatch(/: \[\]$/);
  // The controller says the switch is its own again and in sync.
  const state = readRunStates(lab.file)[0]!.state;
  expect(state.switches.find((x) => x.name === target)).toMatchObject({ reachable: true, primary: true, inSync: true });
  // Every packet after the controller took the switch back and the link returned reached every client.
  for (const st of streams) expect(lossReport(st, TOTAL, undefined, resumeFrom), hostLossNote(lab!)).toEqual([]);
}

if (kinds.length === 0) describeUnless(skipped.join("; "), "fault suite: controllers", () => undefined);

describe.each(kinds)("fault suite: controllers (%s switches)", (kind) => {
  it(
    "two controllers: the primary is killed, the backup takes over every switch, keeps the joined receiver and repairs",
    () => twoControllers(kind),
    120_000,
  );
  it(
    "a rival primary's changes are undone when the controller is primary again; a repair it blocked is written then",
    () => rival(kind),
    120_000,
  );
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
