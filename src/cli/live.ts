/**
 * The live view from the command line: `--http` for the commands that run a
 * controller (deploy --run, demo), and finding a running controller's view
 * (`--controller URL`, or the URL its run-state file publishes for the same
 * topology file) for the commands that show a network (status, watch).
 */
import type { Command } from "commander";
import type { Controller } from "../controller/controller.js";
import { HttpAddressError, parseHttpAddress } from "../controller/live/address.js";
import { LiveServer } from "../controller/live/server.js";
import type { LiveState } from "../controller/live/state.js";
import { CliError, EXIT } from "./output.js";
import { readRunStates } from "./run-state.js";
import type { InstalledLink, InstalledSession, InstalledState, StateSource } from "./installed-state.js";

export function addHttpOptions(cmd: Command, defaultAddress?: string): Command {
  return cmd
    .option(
      "--http <host:port>",
      `serve the live view (page, /api/state, /metrics) on this address${defaultAddress ? "" : " (off unless given)"}; ` +
        "loopback only unless --http-allow-remote",
      defaultAddress,
    )
    .option(
      "--http-allow-remote",
      "let --http listen on an address other than loopback (the view shows the whole network to whoever reaches it)",
    );
}

/** Checks an --http address before anything starts (exit 2 when it is malformed or not loopback without the flag). */
export function checkHttpAddress(address: string, allowRemote: boolean): void {
  try {
    parseHttpAddress(address, allowRemote);
  } catch (e) {
    if (e instanceof HttpAddressError) throw new CliError(`--http: ${e.message}`, EXIT.usage);
    throw e;
  }
}

/** Starts the live view of `ctl`; usage errors are exit 2, an address in use exit 1. */
export async function startLiveView(ctl: Controller, address: string, allowRemote: boolean): Promise<LiveServer> {
  try {
    return await LiveServer.start(ctl, { address, allowRemote });
  } catch (e) {
    if (e instanceof HttpAddressError) throw new CliError(`--http: ${e.message}`, EXIT.usage);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new CliError(
        `--http ${address}: the address is in use`,
        EXIT.failed,
        "pick another port (--http 127.0.0.1:0 picks a free one)",
      );
    if (code === "EADDRNOTAVAIL") throw new CliError(`--http ${address}: no interface of this machine has that address`, EXIT.usage);
    throw e;
  }
}

/** The base URL of a running controller's live view: `--controller`, else the one published for this topology file. */
export function controllerUrl(topologyFile: string, explicit: string | undefined): string | undefined {
  if (explicit) {
    try {
      const u = new URL(explicit.includes("://") ? explicit : `http://${explicit}`);
      return new URL("/", u).toString();
    } catch {
      throw new CliError(`--controller "${explicit}" is not a URL (e.g. http://127.0.0.1:8080/)`, EXIT.usage);
    }
  }
  return readRunStates(topologyFile).find((r) => r.http)?.http;
}

/** The controller's view; `fresh`: it reads the data plane's counters first. Throws when the controller does not answer. */
export async function fetchLiveState(url: string, fresh = false): Promise<LiveState> {
  const r = await fetch(new URL(`api/state${fresh ? "?fresh=1" : ""}`, url), { signal: AbortSignal.timeout(5000) });
  if (!r.ok) throw new Error(`${url}api/state answered ${r.status}`);
  const st = (await r.json()) as LiveState;
  if (typeof st.version !== "number" || !Array.isArray(st.sessions)) throw new Error(`${url}api/state is not a p4cast controller's state`);
  return st;
}

/** What a running controller believes is installed, as status shows it (the switches are not read). */
export function controllerStateSource(url: string): StateSource {
  return {
    name: "controller",
    async read(): Promise<InstalledState> {
      const st = await fetchLiveState(url);
      const sessions: InstalledSession[] = st.sessions.map((s) => ({
        session: s.id,
        ingress: s.ingress,
        tree: s.tree.map((e) => `${e.from}→${e.to}`),
        lastHops: Object.keys(s.lastHops)
          .filter((lh) => lh !== s.ingress)
          .sort(),
        overlays: s.overlays
          .filter((o) => o.active)
          .map((o) => o.lastHop)
          .sort(),
      }));
      const links: InstalledLink[] = st.links.map((l) => {
        if (l.state === "down") return { link: l.name, state: "down", detail: `down (${l.reasons.join(", ")})` };
        if (l.state === "unwatched") return { link: l.name, state: "unknown", detail: "unknown (the controller runs no heartbeats)" };
        return {
          link: l.name,
          state: "up",
          detail: l.state === "missing" ? "up (heartbeats missing at an end; no verdict yet)" : "up (heartbeats answered)",
        };
      });
      return { source: `the controller at ${url} (its view: trees and overlays it wrote, link verdicts)`, sessions, links };
    },
  };
}
