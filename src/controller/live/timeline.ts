/**
 * The controller's recent history as a timeline for the live view: link
 * verdicts, switches lost and back, repairs (writes, duration), overlay
 * switch-overs, joins and leaves, take-overs and faults. Built from the
 * controller's events only; keeps the last `limit` entries.
 */
import { EventEmitter } from "node:events";
import type { Controller, ControllerEvents } from "../controller.js";

export type TimelineKind =
  | "link-down"
  | "link-up"
  | "switch-lost"
  | "switch-back"
  | "repair"
  | "overlay"
  | "join"
  | "leave"
  | "takeover"
  | "role"
  | "fault"
  | "deploy";

export interface TimelineEvent {
  /** Increases by one per event. */
  readonly seq: number;
  /** Wall-clock time (ms since the epoch). */
  readonly at: number;
  readonly kind: TimelineKind;
  /** One line for people. */
  readonly text: string;
  readonly link?: string;
  readonly switch?: string;
  readonly session?: number;
  /** Repairs: updates written and time from the verdict to the last write. */
  readonly writes?: number;
  readonly durationMs?: number;
}

export class Timeline extends EventEmitter<{ event: [TimelineEvent] }> {
  private readonly events: TimelineEvent[] = [];
  private seq = 0;
  private readonly detach: (() => void)[] = [];

  constructor(
    ctl: Controller,
    private readonly limit = 200,
  ) {
    super();
    const on = <K extends keyof ControllerEvents>(ev: K, fn: (...args: ControllerEvents[K]) => void) => {
      const f = fn as (...args: unknown[]) => void;
      (ctl as EventEmitter).on(ev, f);
      this.detach.push(() => (ctl as EventEmitter).off(ev, f));
    };
    on("deployed", (r) =>
      this.add({
        kind: "deploy",
        text: `deployed: ${r.writes} writes in ${r.durationMs.toFixed(0)} ms`,
        writes: r.writes,
        durationMs: r.durationMs,
      }),
    );
    on("linkDown", (e) => this.add({ kind: "link-down", link: e.name, text: `link ${e.name} down (${e.reasons.join(", ")})` }));
    on("linkUp", (e) => this.add({ kind: "link-up", link: e.name, text: `link ${e.name} up` }));
    on("switchLost", (e) => this.add({ kind: "switch-lost", switch: e.switch, text: `${e.switch} lost: ${e.reason}` }));
    on("reprogrammed", (e) =>
      this.add({
        kind: "switch-back",
        switch: e.switch,
        text: `${e.switch} back, re-programmed (${e.result.inserted + e.result.modified + e.result.deleted} writes)`,
      }),
    );
    on("failover", (r) =>
      this.add({
        kind: "repair",
        link: r.link,
        writes: r.writes,
        durationMs: r.repairMs,
        text:
          `repair after ${r.link} ${r.up ? "up" : "down"}: ` +
          `${r.writes} writes on ${r.switches.length} switches, new ways ready in ${r.readyMs.toFixed(1)} ms, ` +
          `old ones gone in ${r.repairMs.toFixed(1)} ms` +
          (r.deferred.length ? `; deferred on ${r.deferred.join(", ")}` : ""),
      }),
    );
    on("overlaySwitched", (e) =>
      this.add({
        kind: "overlay",
        text: `overlay switched on for ${[...e.sessions].map(([s, l]) => `session ${s} → ${[...l].join(", ")}`).join("; ")}`,
      }),
    );
    on("membership", (c) =>
      this.add({
        kind: c.joined ? "join" : "leave",
        session: c.session,
        text: `${c.host} ${c.joined ? "joined" : "left"} session ${c.session} (${c.via})`,
      }),
    );
    on("takeover", (e) =>
      this.add({ kind: "takeover", switch: e.switch, durationMs: e.ms, text: `took over ${e.switch} in ${e.ms.toFixed(1)} ms` }),
    );
    on("role", (e) =>
      this.add({
        kind: "role",
        switch: e.switch,
        text: `${e.switch}: ${e.primary ? "primary" : `backup (primary: election id ${e.primaryElectionId ?? "unknown"})`}`,
      }),
    );
    on("fault", (f) =>
      this.add({
        kind: "fault",
        ...(f.switch ? { switch: f.switch } : {}),
        text: `fault: ${f.task}${f.switch ? ` on ${f.switch}` : ""}: ${f.message}`,
      }),
    );
  }

  private add(e: Omit<TimelineEvent, "seq" | "at">): void {
    const ev: TimelineEvent = { seq: ++this.seq, at: Date.now(), ...e };
    this.events.push(ev);
    if (this.events.length > this.limit) this.events.splice(0, this.events.length - this.limit);
    this.emit("event", ev);
  }

  /** The kept events, oldest first. */
  list(): readonly TimelineEvent[] {
    return [...this.events];
  }

  close(): void {
    for (const d of this.detach) d();
    this.detach.length = 0;
  }
}
