/**
 * `p4cast mcast set|delete|dump` and `p4cast clone set|delete|dump`: the
 * packet replication engine's multicast groups and clone sessions. A replica
 * is `port[:instance]` (instance = egress_rid on v1model, default 0).
 */
import type { Command } from "commander";
import type { P4RuntimeClient } from "../../client/client.js";
import type { DecodedOf, EntityInput } from "../../client/entities/entity.js";
import { Code, isP4RuntimeError, isP4ValueError } from "../../p4runtime/errors.js";
import { CliError, EXIT, printRows } from "../output.js";
import { type ConnectOptions, collect, connectOptions, explainWriteError, outputFormat, parseSmallUint, withClient } from "../connect.js";

interface SetOptions extends ConnectOptions {
  replica: string[];
  classOfService?: string;
  truncate?: string;
}

export interface ReplicaArg {
  port: number;
  instance: number;
}

/** "1", "2:1", "1,2,3:4" → replicas. */
export function parseReplicas(args: readonly string[]): ReplicaArg[] {
  const out: ReplicaArg[] = [];
  for (const arg of args) {
    for (const part of arg
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const m = /^(\d+)(?::(\d+))?$/.exec(part);
      if (!m)
        throw new CliError(
          `--replica wants port[:instance], got "${part}"`,
          EXIT.usage,
          "for example --replica 1 --replica 2:1 (or --replica 1,2,3)",
        );
      out.push({ port: parseSmallUint(m[1]!, "replica port"), instance: m[2] ? parseSmallUint(m[2], "replica instance") : 0 });
    }
  }
  return out;
}

const replicaText = (rs: readonly { port: number; instance: number }[]) =>
  rs.map((r) => (r.instance ? `${r.port}:${r.instance}` : `${r.port}`)).join(", ");

/** Insert, or modify when it exists already. Returns what was done. */
export async function upsert(client: P4RuntimeClient, entity: EntityInput, what: string): Promise<"inserted" | "modified"> {
  let updates;
  try {
    updates = client.encodeUpdates([{ type: "insert", entity }]);
  } catch (e) {
    if (isP4ValueError(e)) throw new CliError(e.message, EXIT.usage);
    throw e;
  }
  try {
    await client.writeRaw(updates);
    return "inserted";
  } catch (e) {
    if (!(isP4RuntimeError(e) && e.onlyFailedWith(Code.ALREADY_EXISTS))) throw explainWriteError(e, `${what} failed`);
  }
  try {
    await client.writeRaw(client.encodeUpdates([{ type: "modify", entity }]));
    return "modified";
  } catch (e) {
    throw explainWriteError(e, `${what} failed`);
  }
}

function preCommands(program: Command, kind: "mcast" | "clone"): void {
  const isMcast = kind === "mcast";
  const noun = isMcast ? "multicast group" : "clone session";
  const cmd = program
    .command(kind)
    .description(
      isMcast
        ? "multicast groups of the packet replication engine: set (insert or modify), delete, dump"
        : "clone sessions (clone/I2E/E2E mirrors): set (insert or modify), delete, dump",
    )
    .addHelpText(
      "after",
      isMcast
        ? `
Examples:
  p4cast mcast set 1 --replica 1 --replica 2 --replica 3:1
  p4cast mcast dump --output json
  p4cast mcast delete 1`
        : `
Examples:
  p4cast clone set 100 --replica 255 --truncate 128
  p4cast clone dump
  p4cast clone delete 100`,
    );

  const set = cmd
    .command(`set <${isMcast ? "group" : "session"}>`)
    .description(`create the ${noun} or replace its replicas`)
    .option("--replica <port[:instance]...>", "a replica, repeatable (or comma-separated)", collect, [] as string[]);
  if (!isMcast)
    set
      .option("--class-of-service <n>", "class of service of the clones", "0")
      .option("--truncate <bytes>", "clone only the first N bytes (0: whole packet)", "0");
  connectOptions(set).action(async (idArg: string, o: SetOptions) => {
    const format = outputFormat(o);
    const id = parseSmallUint(idArg, noun, 0xffffffffn);
    if (id === 0) throw new CliError(`${noun} 0 is reserved: use an id of 1 or more`, EXIT.usage);
    const replicas = parseReplicas(o.replica);
    if (isMcast && replicas.length === 0)
      throw new CliError(
        `${noun} ${id}: give at least one --replica`,
        EXIT.usage,
        "for example --replica 1 --replica 2; remove a group with `p4cast mcast delete`",
      );
    await withClient(o, { primary: true, p4info: false }, async (client) => {
      const entity: EntityInput = isMcast
        ? { kind: "multicastGroup", groupId: id, replicas }
        : {
            kind: "cloneSession",
            sessionId: id,
            replicas,
            classOfService: parseSmallUint(o.classOfService ?? "0", "--class-of-service"),
            packetLengthBytes: parseSmallUint(o.truncate ?? "0", "--truncate"),
          };
      const result = await upsert(client, entity, `${noun} ${id}`);
      if (format === "json") printRows(format, [], [], { result, [isMcast ? "groupId" : "sessionId"]: id, replicas });
      else process.stdout.write(`${noun} ${id} ${result}: replicas ${replicaText(replicas) || "none"}\n`);
    });
  });

  const del = cmd.command(`delete <${isMcast ? "group" : "session"}>`).description(`delete the ${noun}`);
  connectOptions(del).action(async (idArg: string, o: ConnectOptions) => {
    const format = outputFormat(o);
    const id = parseSmallUint(idArg, noun, 0xffffffffn);
    await withClient(o, { primary: true, p4info: false }, async (client) => {
      const entity: EntityInput = isMcast ? { kind: "multicastGroup", groupId: id } : { kind: "cloneSession", sessionId: id };
      try {
        await client.write([{ type: "delete", entity }]);
      } catch (e) {
        throw explainWriteError(e, `delete ${noun} ${id} failed`);
      }
      if (format === "json") printRows(format, [], [], { result: "deleted", [isMcast ? "groupId" : "sessionId"]: id });
      else process.stdout.write(`${noun} ${id} deleted\n`);
    });
  });

  const dump = cmd.command(`dump [${isMcast ? "group" : "session"}]`).description(`list ${noun}s (all when no id is given)`);
  connectOptions(dump).action(async (idArg: string | undefined, o: ConnectOptions) => {
    const format = outputFormat(o);
    const id = idArg !== undefined ? parseSmallUint(idArg, noun, 0xffffffffn) : 0;
    await withClient(o, { p4info: false }, async (client) => {
      let found;
      try {
        found = await client.readAll(isMcast ? { kind: "multicastGroup", groupId: id } : { kind: "cloneSession", sessionId: id });
      } catch (e) {
        if (id && isP4RuntimeError(e) && e.code === Code.NOT_FOUND)
          throw new CliError(`there is no ${noun} ${id}`, EXIT.failed, `list them with p4cast ${kind} dump`);
        throw e;
      }
      if (isMcast) {
        const groups = (found as DecodedOf<"multicastGroup">[])
          .filter((g) => !id || g.groupId === id)
          .sort((a, b) => a.groupId - b.groupId);
        if (id && groups.length === 0) throw new CliError(`there is no ${noun} ${id}`, EXIT.failed, `list them with p4cast ${kind} dump`);
        printRows(
          format,
          ["group", "replicas (port[:instance])"],
          groups.map((g) => [g.groupId, replicaText(g.replicas)]),
          groups.map((g) => ({ groupId: g.groupId, replicas: g.replicas })),
        );
      } else {
        const sessions = (found as DecodedOf<"cloneSession">[])
          .filter((s) => !id || s.sessionId === id)
          .sort((a, b) => a.sessionId - b.sessionId);
        if (id && sessions.length === 0) throw new CliError(`there is no ${noun} ${id}`, EXIT.failed, `list them with p4cast ${kind} dump`);
        printRows(
          format,
          ["session", "replicas (port[:instance])", "class of service", "truncate"],
          sessions.map((s) => [s.sessionId, replicaText(s.replicas), s.classOfService, s.packetLengthBytes || "whole packet"]),
          sessions.map((s) => ({
            sessionId: s.sessionId,
            replicas: s.replicas,
            classOfService: s.classOfService,
            packetLengthBytes: s.packetLengthBytes,
          })),
        );
      }
    });
  });
}

export function registerMcast(program: Command): void {
  preCommands(program, "mcast");
}

export function registerClone(program: Command): void {
  preCommands(program, "clone");
}
