/**
 * `p4cast register read|write`: register cells through registerAccess —
 * P4Runtime RegisterEntry where the target implements it, BMv2's Thrift
 * runtime (--thrift) on simple_switch_grpc.
 */
import type { Command } from "commander";
import { registerAccess } from "../../client/registers.js";
import { formatValue } from "../../p4runtime/codec/values.js";
import { parseValue } from "../../p4runtime/codec/values.js";
import { isP4ValueError } from "../../p4runtime/errors.js";
import type { RegisterInfo } from "../../p4runtime/p4info/index.js";
import { CliError, EXIT, printRows } from "../output.js";
import { type ConnectOptions, connectOptions, explainWriteError, outputFormat, parseAddress, parseUint, withClient } from "../connect.js";
import { fieldFormat } from "./table.js";

interface RegisterOptions extends ConnectOptions {
  index?: string;
  hex?: boolean;
}

function checkIndex(reg: RegisterInfo, v: string): number {
  const i = parseUint(v, "--index");
  if (i >= BigInt(reg.size)) throw new CliError(`register "${reg.name}": index ${i} is outside 0..${reg.size - 1}`, EXIT.usage);
  return Number(i);
}

/** A cell value from the command line: integers (negative for int<W>), hex, addresses. */
export function parseCell(reg: RegisterInfo, text: string): bigint {
  const w = reg.bitwidth;
  if (w === undefined)
    throw new CliError(`register "${reg.name}" does not hold a plain bit<W>/int<W> value: it cannot be written by value`, EXIT.usage);
  try {
    if (reg.signed) {
      const s = text.trim();
      if (!/^-?(\d+|0x[0-9a-f]+)$/i.test(s))
        throw new CliError(`register "${reg.name}" (int<${w}>): "${text}" is not an integer`, EXIT.usage);
      const v = s.startsWith("-") ? -BigInt(s.slice(1)) : BigInt(s);
      const lim = 1n << BigInt(w - 1);
      if (v < -lim || v >= lim) throw new CliError(`register "${reg.name}" (int<${w}>): ${v} is outside ${-lim}..${lim - 1n}`, EXIT.usage);
      return v;
    }
    return parseValue(text, w, `register "${reg.name}"`);
  } catch (e) {
    if (isP4ValueError(e)) throw new CliError(e.message, EXIT.usage);
    throw e;
  }
}

/**
 * int<W> cells as signed numbers: BMv2's Thrift runtime returns the raw
 * two's-complement bits (P4Runtime reads are already signed).
 */
export function signedCell(reg: RegisterInfo, v: bigint): bigint {
  if (!reg.signed || reg.bitwidth === undefined || v < 0n) return v;
  const w = BigInt(reg.bitwidth);
  return v >= 1n << (w - 1n) ? v - (1n << w) : v;
}

function show(reg: RegisterInfo, v: bigint, hex: boolean): string {
  if (reg.signed || reg.bitwidth === undefined) return v.toString();
  return formatValue(v, hex ? "hex" : fieldFormat(reg.name.split(".").pop()!, reg.bitwidth));
}

export function registerRegister(program: Command): void {
  const cmd = program
    .command("register")
    .description("read and write register cells (P4Runtime, or BMv2 Thrift on simple_switch_grpc)")
    .addHelpText(
      "after",
      `
Examples:
  p4cast register read last_seen --index 1
  p4cast register read last_seen --output json
  p4cast register write last_seen --index 1 0x2a
  p4cast register read hb_last_seq --thrift 127.0.0.1:9090   # simple_switch_grpc`,
    );

  const read = cmd
    .command("read <name>")
    .description("read one cell (--index) or every cell")
    .option("--index <i>", "cell index")
    .option("--hex", "show values in hexadecimal");
  connectOptions(read, { thrift: true }).action(async (name: string, o: RegisterOptions) => {
    const format = outputFormat(o);
    const thrift = parseAddress(o.thrift, "--thrift");
    await withClient(o, {}, async (client) => {
      const reg = client.index.register(name);
      const index = o.index !== undefined ? checkIndex(reg, o.index) : undefined;
      const access = await registerAccess(client, { host: thrift.host, port: thrift.port });
      try {
        const raw =
          index !== undefined
            ? [{ index, value: await access.read(reg.name, index) }]
            : (await access.readAll(reg.name)).map((value, i) => ({ index: i, value }));
        const cells = raw.map((c) => ({ index: c.index, value: signedCell(reg, c.value) }));
        printRows(
          format,
          ["register", "index", "value"],
          cells.map((c) => [reg.name, c.index, show(reg, c.value, !!o.hex)]),
          {
            register: reg.name,
            via: access.via,
            ...(reg.bitwidth !== undefined ? { bitwidth: reg.bitwidth, signed: reg.signed } : {}),
            cells: cells.map((c) => ({ index: c.index, value: c.value })),
          },
        );
      } catch (e) {
        throw thriftHint(e, access.via, o.thrift);
      } finally {
        access.close();
      }
    });
  });

  const write = cmd.command("write <name> <value>").description("write one cell").requiredOption("--index <i>", "cell index");
  connectOptions(write, { thrift: true }).action(async (name: string, valueText: string, o: RegisterOptions) => {
    const format = outputFormat(o);
    const thrift = parseAddress(o.thrift, "--thrift");
    await withClient(o, { primary: true }, async (client) => {
      const reg = client.index.register(name);
      const index = checkIndex(reg, o.index!);
      const value = parseCell(reg, valueText);
      const access = await registerAccess(client, { host: thrift.host, port: thrift.port });
      try {
        await access.write(reg.name, index, value);
      } catch (e) {
        throw explainWriteError(thriftHint(e, access.via, o.thrift), `register "${reg.name}" write failed`);
      } finally {
        access.close();
      }
      if (format === "json") printRows(format, [], [], { result: "written", register: reg.name, index, value, via: access.via });
      else process.stdout.write(`${reg.name}[${index}] = ${show(reg, value, false)} (via ${access.via})\n`);
    });
  });
}

function thriftHint(e: unknown, via: string, address: string): unknown {
  if (via !== "thrift" || e instanceof CliError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CliError(
    msg.startsWith("BMv2 Thrift") ? msg : `BMv2 Thrift at ${address}: ${msg}`,
    /ECONNREFUSED|timed? ?out|ETIMEDOUT|EHOSTUNREACH/i.test(msg) ? EXIT.unreachable : EXIT.failed,
    "the target has no P4Runtime RegisterEntry; is --thrift its Thrift runtime address (simple_switch_grpc --thrift-port)?",
  );
}
