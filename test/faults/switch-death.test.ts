/**
 * A switch dies (SIGKILL) or hangs (SIGSTOP) with `p4cast deploy --run`
 * live, in each kind of position: inside the tree, a last hop, and the
 * busiest switch (the one that watched its links alone before links were
 * watched from both ends). The controller stays up, detects within the
 * heartbeat bound, repairs, loses nothing from always-redundant clients not
 * behind the dead switch, resumes tree-only delivery after the repair, and
 * re-programs the switch when it returns.
 */
import { afterEach, describe, expect, it } from "vitest";
import { describeUnless } from "../support/skips.js";
import { NetworkGraph } from "../../src/controller/topology/graph.js";
import { planNetwork } from "../../src/controller/plan/network-plan.js";
import {
  HEARTBEAT,
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
for (const why of skipped) console.log(`[p4cast tests] fault suite (switch death) skipped for ${why}`);

let lab: FaultLab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

const RATE_MS = 5;

/** The switches to kill: inside session 1's tree, a last hop, and the busiest one. */
function positions(lab: FaultLab): { what: string; sw: string }[] {
  const g = new NetworkGraph(lab.topology);
  const sp = planNetwork({ graph: g }).sessions.get(1)!;
  const interior = new Map<string, number>();
  for (const branch of sp.tree.branch.values()) for (const a of branch.slice(0, -1)) interior.set(a.to, (interior.get(a.to) ?? 0) + 1);
  const inner = [...interior].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
  const lastHop = [...sp.lastHops.keys()].filter((n) => n !== sp.ingress).sort()[0]!;
  const degree = (n: string) => g.allAdjacencies(n).length;
  const busiest = lab.topology.switches
    .map((s) => s.name)
    .filter((n) => n !== sp.ingress && n !== inner && n !== lastHop)
    .sort((a, b) => degree(b) - degree(a) || a.localeCompare(b))[0]!;
  return [
    { what: "inside the tree", sw: inner },
    { what: "a last hop", sw: lastHop },
    { what: "the busiest switch", sw: busiest },
  ];
}

async function killAndReturn(kind: Kind, pick: number, how: "SIGKILL" | "SIGSTOP"): Promise<void> {
  lab = await startFaultLab(kind);
  const { what, sw } = positions(lab)[pick]!;
  const ctl = await lab.startController(10);
  const g = new NetworkGraph(lab.topology);
  const links = g.allAdjacencies(sw).map((a) => g.linkName(a.link));
  const behind = new Set(lab.topology.hosts.filter((h) => h.attach.switch === sw).map((h) => h.name));
  const [s1, s2] = lab.topology.sessions;
  const streams = [sessionStream(lab, s1!), sessionStream(lab, s2!)];
  const hb = HEARTBEAT[kind];
  const bound = hb.missThreshold * hb.intervalMs + hb.intervalMs;

  let faultAt = 0;
  let detectedMs = 0;
  let resumeFrom = 0;
  let returnedAt = 0;
  let reprogramStartMs = 0;
  const TOTAL = 1000;
  await sendStreams(streams, TOTAL, RATE_MS, async (i) => {
    if (i === 150) {
      faultAt = performance.now();
      if (how === "SIGKILL") await lab!.net.killSwitch(sw);
      else lab!.net.process(sw)!.kill("SIGSTOP");
      // Every link of the switch is declared down, and the network repaired around it. A link a busy
      // machine already had down at the fault (a flap before it) is not declared again.
      const wasDown = (l: string) =>
        ctl
          .linesSince(0, new RegExp(`^\\S+ link ${escapeRegExp(l)} (down|up)`))
          .filter((x) => x.atMs < faultAt)
          .at(-1)
          ?.text.includes(" down") ?? false;
      const pending = links.filter((l) => !wasDown(l));
      expect(pending.length, `every link of ${sw} was down before the fault`).toBeGreaterThan(0);
      const downs = await Promise.all(pending.map((l) => ctl.waitFor(new RegExp(`^\\S+ link ${escapeRegExp(l)} down`), 10_000, faultAt)));
      detectedMs = Math.min(...downs.map((d) => d.loggedAtMs)) - faultAt;
      const lastDown = Math.max(...downs.map((d) => d.atMs));
      await ctl.waitFor(/repair after \S+ down: /, 10_000, lastDown);
    }
    if (i === 450) {
      returnedAt = performance.now();
      if (how === "SIGKILL") await lab!.net.startSwitch(sw);
      else lab!.net.process(sw)!.kill("SIGCONT");
      // The bound runs from when the switch answers again (its gRPC port accepts), not from the
      // process start: a node process takes a second or more to start on a busy machine.
      const listeningAt = performance.now();
      if (how === "SIGKILL") {
        const start = await ctl.waitFor(new RegExp(`^\\S+ ${sw}: reconnected; re-programming it`), 10_000, returnedAt);
        reprogramStartMs = Math.max(0, start.loggedAtMs - listeningAt);
        await ctl.waitFor(new RegExp(`^\\S+ ${sw}: re-programmed`), 15_000, returnedAt);
      }
      // Its links come back (heartbeats answered again) and the trees go back through it.
      await Promise.all(links.map((l) => ctl.waitFor(new RegExp(`repair after ${escapeRegExp(l)} up: `), 20_000, returnedAt)));
      resumeFrom = i + 10; // 50 ms after the repair's last write
    }
  });
  await settleAll(streams);
  /** The controller's verdicts and repairs from `t` on, timed from `ref` (the fault by default). */
  const verdictsSince = (t: number, ref = faultAt) =>
    ctl
      .linesSince(t, / link \S+ (down|up)|repair after|reconnected|re-programmed|stream lost/)
      .map((l) => `${(l.atMs - ref).toFixed(0)} ms: ${l.text.replace(/^\S+ /, "")}`)
      .join(" | ") || "no verdicts";

  expect(ctl.alive, `the controller exited: ${JSON.stringify(ctl.exit)}`).toBe(true);
  expect(ctl.linesSince(0, /fault: unexpected/).map((l) => l.text)).toEqual([]);
  console.log(
    `[faults] ${kind}: ${how} of ${sw} (${what}): detected in ${detectedMs.toFixed(0)} ms (bound ${bound} ms)` +
      (how === "SIGKILL" ? `, re-programming started ${reprogramStartMs.toFixed(0)} ms after it listened again` : ""),
  );
  expect(detectedMs, `detection of ${sw}'s death`).toBeLessThanOrEqual(bound);
  if (how === "SIGKILL") expect(reprogramStartMs).toBeLessThan(2_000);

  // always-redundant: nothing lost or duplicated at any client not behind the dead switch.
  const [redundant, treeOnly] = streams;
  const others = s1!.clients.filter((c) => !behind.has(c));
  expect(
    lossReport(redundant!, TOTAL, others),
    `${hostLossNote(lab)}; the controller (ms from the fault, sent at packet 150): ${verdictsSince(0)}`,
  ).toEqual([]);
  // tree-only: no duplicates anywhere; every packet after the return's repair reached every client.
  for (const st of streams) {
    for (const [c, log] of st.logs) {
      const got = new Set(log.seqs);
      expect({ c, session: st.session.id, duplicated: log.seqs.length - got.size }).toEqual({ c, session: st.session.id, duplicated: 0 });
      const missing = [...Array(TOTAL - resumeFrom).keys()].map((k) => k + resumeFrom).filter((x) => !got.has(x));
      expect(
        { c, session: st.session.id, missingAfterReturn: missing },
        `${hostLossNote(lab!)}; the controller after the return (ms from it): ${verdictsSince(returnedAt, returnedAt)}`,
      ).toEqual({ c, session: st.session.id, missingAfterReturn: [] });
    }
  }
  expect(treeOnly).toBeDefined();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

if (kinds.length === 0) describeUnless(skipped.join("; "), "fault suite: switch death", () => undefined);

describe.each(kinds)("fault suite: switch death (%s switches)", (kind) => {
  it("SIGKILL of a switch inside the tree: detected, repaired, re-programmed on return", () => killAndReturn(kind, 0, "SIGKILL"), 120_000);
  it("SIGKILL of a last hop: detected, repaired, re-programmed on return", () => killAndReturn(kind, 1, "SIGKILL"), 120_000);
  it("SIGKILL of the busiest switch: its neighbours see it die", () => killAndReturn(kind, 2, "SIGKILL"), 120_000);
  it(
    "SIGSTOP of a switch inside the tree (hung, stream still open): heartbeats alone detect it",
    () => killAndReturn(kind, 0, "SIGSTOP"),
    120_000,
  );
});
