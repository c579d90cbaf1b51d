/**
 * One way to read and write registers whatever the target: P4Runtime
 * RegisterEntry where the server implements it (the embedded switch,
 * Stratum, Tofino), and BMv2's Thrift runtime where it answers UNIMPLEMENTED
 * (simple_switch_grpc). `registerAccess` probes once and picks.
 */
import type { P4RuntimeClient } from "./client.js";
import { isUnimplemented } from "../p4runtime/errors.js";
import type { DecodedOf } from "./entities/entity.js";
import { Bmv2ThriftClient, type Bmv2ThriftOptions } from "./thrift/bmv2-standard.js";

export interface RegisterAccess {
  /** "p4runtime" or "thrift": how cells are reached. */
  readonly via: "p4runtime" | "thrift";
  read(register: string, index: number): Promise<bigint>;
  /** Every cell, index order. */
  readAll(register: string): Promise<bigint[]>;
  write(register: string, index: number, value: bigint): Promise<void>;
  close(): void;
}

export class P4RuntimeRegisters implements RegisterAccess {
  readonly via = "p4runtime" as const;
  constructor(private readonly client: P4RuntimeClient) {}

  async read(register: string, index: number): Promise<bigint> {
    const [e] = (await this.client.readAll({ kind: "registerEntry", register, index })) as DecodedOf<"registerEntry">[];
    if (!e) throw new Error(`register "${register}" index ${index}: the server returned nothing`);
    return e.value;
  }

  async readAll(register: string): Promise<bigint[]> {
    const entries = (await this.client.readAll({ kind: "registerEntry", register })) as DecodedOf<"registerEntry">[];
    return entries.sort((a, b) => Number(a.index - b.index)).map((e) => e.value);
  }

  write(register: string, index: number, value: bigint): Promise<void> {
    return this.client.modify({ kind: "registerEntry", register, index, value });
  }

  close(): void {}
}

export class ThriftRegisters implements RegisterAccess {
  readonly via = "thrift" as const;
  private readonly thrift: Bmv2ThriftClient;

  /** Register names are the P4Info's full names, which BMv2 uses too. */
  constructor(
    private readonly client: P4RuntimeClient,
    options: Bmv2ThriftOptions,
  ) {
    this.thrift = new Bmv2ThriftClient(options);
  }

  private name(register: string): string {
    return this.client.index.register(register).name;
  }

  /** BMv2 returns a cell's bits; int<W> cells are turned back into signed values. */
  private fromCell(register: string, v: bigint): bigint {
    const r = this.client.index.register(register);
    if (!r.signed || r.bitwidth === undefined) return v;
    const bits = BigInt.asUintN(r.bitwidth, v);
    return BigInt.asIntN(r.bitwidth, bits);
  }

  async read(register: string, index: number): Promise<bigint> {
    return this.fromCell(register, await this.thrift.readRegister(this.name(register), index));
  }

  async readAll(register: string): Promise<bigint[]> {
    return (await this.thrift.readRegisterAll(this.name(register))).map((v) => this.fromCell(register, v));
  }

  write(register: string, index: number, value: bigint): Promise<void> {
    const r = this.client.index.register(register);
    const cell = r.signed && r.bitwidth !== undefined ? BigInt.asUintN(r.bitwidth, value) : value;
    return this.thrift.writeRegister(this.name(register), index, cell);
  }

  close(): void {
    this.thrift.close();
  }
}

/**
 * Register access for `client`'s device: P4Runtime when the server
 * implements RegisterEntry, otherwise BMv2 Thrift at `thrift` (default
 * 127.0.0.1:9090). The probe reads cell 0 of the first register.
 */
export async function registerAccess(client: P4RuntimeClient, thrift: Bmv2ThriftOptions = {}): Promise<RegisterAccess> {
  const first = [...client.index.registers][0];
  if (!first) return new P4RuntimeRegisters(client);
  try {
    await client.readAll({ kind: "registerEntry", register: first.id, index: 0 });
    return new P4RuntimeRegisters(client);
  } catch (e) {
    if (isUnimplemented(e)) return new ThriftRegisters(client, thrift);
    throw e;
  }
}
