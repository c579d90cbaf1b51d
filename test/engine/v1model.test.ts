/** v1model architecture: clone, multicast, resubmit, recirculate, digests, externs. */
import { describe, expect, it } from "vitest";
import { loadEngine, type DigestMessage } from "../../src/switch/engine/index.js";
import { ETHERNET, type J, assign, expr, f, headerType, hex, prim, program, rd, table } from "./fixtures.js";

const sm = (x: string) => f("standard_metadata", x);
const hdr = (n: string): J => ({ type: "header", value: n });
const dummy = (name: string, id: number, actionName: string, actionId: number, next: string | null): J => ({
  ...table(name, id, [], [[actionName, actionId]], [actionId, []], next),
  default_entry: { action_id: actionId, action_const: true, action_data: [], action_entry_const: true },
});
const cond = (name: string, id: number, e: J, t: string | null, fl: string | null): J => ({
  name,
  id,
  expression: e,
  true_next: t,
  false_next: fl,
});

function archProgram(): J {
  const actions: J[] = [
    { name: "fwd", id: 0, runtime_data: [{ name: "port", bitwidth: 9 }], primitives: [assign(sm("egress_spec"), rd(0))] },
    { name: "mcast", id: 1, runtime_data: [{ name: "grp", bitwidth: 16 }], primitives: [assign(sm("mcast_grp"), rd(0))] },
    {
      name: "i2e",
      id: 2,
      runtime_data: [
        { name: "session", bitwidth: 32 },
        { name: "port", bitwidth: 9 },
      ],
      primitives: [prim("clone_ingress_pkt_to_egress", rd(0), hex(1)), assign(sm("egress_spec"), rd(1))],
    },
    {
      name: "resub",
      id: 3,
      runtime_data: [{ name: "port", bitwidth: 9 }],
      primitives: [assign(f("meta", "port"), rd(0)), prim("resubmit", hex(1))],
    },
    {
      name: "recirc",
      id: 4,
      runtime_data: [{ name: "port", bitwidth: 9 }],
      primitives: [assign(f("meta", "port"), rd(0)), assign(sm("egress_spec"), hex(9))],
    },
    {
      name: "learn",
      id: 5,
      runtime_data: [{ name: "port", bitwidth: 9 }],
      primitives: [prim("generate_digest", hex(0), hex(1)), assign(sm("egress_spec"), rd(0))],
    },
    { name: "drop", id: 6, runtime_data: [], primitives: [prim("mark_to_drop", hdr("standard_metadata"))] },
    { name: "fwd_meta", id: 7, runtime_data: [], primitives: [assign(sm("egress_spec"), f("meta", "port"))] },
    {
      name: "common",
      id: 8,
      runtime_data: [],
      primitives: [
        prim("count", { type: "counter_array", value: "c" }, sm("ingress_port")),
        prim("register_read", f("meta", "reg"), { type: "register_array", value: "r" }, sm("ingress_port")),
        prim(
          "register_write",
          { type: "register_array", value: "r" },
          sm("ingress_port"),
          expr("&", expr("+", f("meta", "reg"), hex(1)), hex(0xffff)),
        ),
        prim("execute_meter", { type: "meter_array", value: "m" }, hex(0), f("meta", "color")),
        prim("modify_field_with_hash_based_offset", f("meta", "h"), hex(0), { type: "calculation", value: "hash" }, hex(0x10000)),
      ],
    },
    { name: "do_recirc", id: 9, runtime_data: [], primitives: [prim("recirculate", hex(1))] },
    {
      name: "e2e",
      id: 10,
      runtime_data: [{ name: "session", bitwidth: 32 }],
      primitives: [prim("clone_egress_pkt_to_egress", rd(0), hex(1))],
    },
    {
      name: "stamp",
      id: 11,
      runtime_data: [],
      primitives: [
        prim("add_header", hdr("rep")),
        assign(f("rep", "itype"), expr("&", sm("instance_type"), hex(0xff))),
        assign(f("rep", "rid"), sm("egress_rid")),
        assign(f("rep", "eport"), sm("egress_port")),
        assign(f("rep", "plen"), sm("packet_length")),
        assign(f("rep", "color"), f("meta", "color")),
        assign(f("rep", "h"), f("meta", "h")),
        assign(f("rep", "reg"), f("meta", "reg")),
        assign(f("rep", "iport"), sm("ingress_port")),
      ],
    },
    { name: "nop", id: 12, runtime_data: [], primitives: [] },
    {
      name: "trunc",
      id: 13,
      runtime_data: [{ name: "port", bitwidth: 9 }],
      primitives: [prim("truncate", hex(20)), assign(sm("egress_spec"), rd(0))],
    },
  ];
  const eq = (a: J, b: J) => expr("==", a, b);
  return program({
    headerTypes: [
      headerType("ethernet_t", 2, ETHERNET),
      headerType("rep_t", 3, [
        ["itype", 8, false],
        ["rid", 16, false],
        ["eport", 16, false],
        ["plen", 16, false],
        ["color", 8, false],
        ["h", 16, false],
        ["reg", 16, false],
        ["iport", 16, false],
      ]),
      headerType("meta_t", 4, [
        ["port", 9, false],
        ["color", 8, false],
        ["h", 16, false],
        ["reg", 16, false],
        ["_pad", 7, false],
      ]),
    ],
    headers: [
      { name: "ethernet", id: 2, header_type: "ethernet_t", metadata: false },
      { name: "rep", id: 3, header_type: "rep_t", metadata: false },
      { name: "meta", id: 4, header_type: "meta_t", metadata: true },
    ],
    parser: {
      name: "parser",
      id: 0,
      init_state: "start",
      parse_states: [
        {
          name: "start",
          id: 0,
          parser_ops: [{ op: "extract", parameters: [hdr("ethernet")].map((h) => ({ type: "regular", value: h.value })) }],
          transitions: [{ type: "default", value: null, mask: null, next_state: null }],
          transition_key: [],
        },
      ],
    },
    deparserOrder: ["rep", "ethernet"],
    fieldLists: [{ id: 1, name: "fl", elements: [f("meta", "port")] }],
    learnLists: [{ id: 1, name: "mac_learn_digest", source_info: {}, elements: [f("ethernet", "srcAddr"), sm("ingress_port")] }],
    counters: [{ name: "c", id: 0, is_direct: false, size: 16 }],
    registers: [{ name: "r", id: 0, size: 16, bitwidth: 16 }],
    meters: [{ name: "m", id: 0, is_direct: false, rate_count: 2, type: "packets", size: 4 }],
    calculations: [{ name: "hash", id: 0, algo: "crc16", input: [f("ethernet", "dstAddr")] }],
    actions,
    ingress: {
      name: "ingress",
      id: 0,
      init_table: "c_re",
      conditionals: [cond("c_re", 0, expr("or", eq(sm("instance_type"), hex(6)), eq(sm("instance_type"), hex(4))), "t_after", "t_main")],
      tables: [
        dummy("t_after", 0, "fwd_meta", 7, "t_common"),
        table(
          "t_main",
          1,
          [{ match_type: "exact", name: "etherType", target: ["ethernet", "etherType"], mask: null }],
          [
            ["fwd", 0],
            ["mcast", 1],
            ["i2e", 2],
            ["resub", 3],
            ["recirc", 4],
            ["learn", 5],
            ["drop", 6],
            ["trunc", 13],
          ],
          [6, []],
          "t_common",
        ),
        dummy("t_common", 2, "common", 8, null),
      ],
      action_profiles: [],
    },
    egress: {
      name: "egress",
      id: 1,
      init_table: "c_e",
      conditionals: [
        cond("c_e", 1, expr("and", eq(sm("egress_port"), hex(9)), eq(sm("instance_type"), hex(0))), "t_recirc", "c_e2"),
        cond("c_e2", 2, eq(sm("instance_type"), hex(0)), "t_e2e", "t_stamp"),
      ],
      tables: [
        dummy("t_recirc", 3, "do_recirc", 9, null),
        table(
          "t_e2e",
          4,
          [{ match_type: "exact", name: "etherType", target: ["ethernet", "etherType"], mask: null }],
          [
            ["e2e", 10],
            ["nop", 12],
          ],
          [12, []],
          "t_stamp",
        ),
        dummy("t_stamp", 5, "stamp", 11, null),
      ],
      action_profiles: [],
    },
  });
}

const ETH_LEN = 60;
function frame(etherType: number, src = 0x0000aabbccddn): Uint8Array {
  const p = new Uint8Array(ETH_LEN);
  p.set([0, 1, 2, 3, 4, 5]);
  for (let i = 0; i < 6; i++) p[6 + i] = Number((src >> BigInt(8 * (5 - i))) & 0xffn);
  p[12] = etherType >> 8;
  p[13] = etherType & 0xff;
  for (let i = 14; i < ETH_LEN; i++) p[i] = i;
  return p;
}

const rep = (d: Uint8Array) => {
  const u16 = (o: number) => (d[o]! << 8) | d[o + 1]!;
  return { itype: d[0], rid: u16(1), eport: u16(3), plen: u16(5), color: d[7], h: u16(8), reg: u16(10), iport: u16(12) };
};
const REP_LEN = 14;

function setup() {
  let now = 1_000_000n;
  const e = loadEngine(archProgram(), { clock: () => now });
  const add = (etherType: number, action: string, args: bigint[]) =>
    e.addEntry("t_main", {
      key: [{ kind: "exact", value: BigInt(etherType) }],
      priority: 0,
      action: { kind: "action", call: { action, args } },
    });
  return { e, add, tick: (us: bigint) => (now += us) };
}

describe("v1model architecture", () => {
  it("unicast: instance type, packet length, ingress port", () => {
    const { e, add } = setup();
    add(0x1111, "fwd", [3n]);
    const out = e.process(5, frame(0x1111));
    expect(out.map((o) => o.port)).toEqual([3]);
    expect(rep(out[0]!.data)).toMatchObject({ itype: 0, rid: 0, eport: 3, plen: ETH_LEN, iport: 5 });
    expect(out[0]!.data.length).toBe(REP_LEN + ETH_LEN);
  });

  it("drops on the drop port and on a miss with mark_to_drop", () => {
    const { e } = setup();
    expect(e.process(1, frame(0x4444))).toEqual([]);
  });

  it("multicast: replicas per rid node, ports ascending, egress_rid set", () => {
    const { e, add } = setup();
    add(0x2222, "mcast", [5n]);
    e.setMulticastGroup(5, [
      { port: 4, rid: 11 },
      { port: 2, rid: 10 },
      { port: 1, rid: 10 },
    ]);
    const out = e.process(0, frame(0x2222));
    expect(out.map((o) => [o.port, rep(o.data).rid, rep(o.data).itype])).toEqual([
      [4, 11, 5],
      [1, 10, 5],
      [2, 10, 5],
    ]);
    expect(e.getMulticastGroup(5)).toHaveLength(3);
    e.deleteMulticastGroup(5);
    expect(e.process(0, frame(0x2222))).toEqual([]);
  });

  it("ingress clone: a reparsed copy with metadata reset except the field list", () => {
    const { e, add } = setup();
    add(0x3333, "i2e", [7n, 3n]);
    e.setCloneSession(7, { replicas: [{ port: 6, rid: 1 }], truncateBytes: 0 });
    const out = e.process(2, frame(0x3333));
    expect(out.map((o) => o.port)).toEqual([6, 3]);
    expect(rep(out[0]!.data)).toMatchObject({ itype: 1, iport: 0, eport: 6, rid: 1, plen: ETH_LEN });
    expect(rep(out[1]!.data)).toMatchObject({ itype: 0, iport: 2, eport: 3 });
    // session truncation
    e.setCloneSession(7, { replicas: [{ port: 6, rid: 1 }], truncateBytes: 16 });
    const out2 = e.process(2, frame(0x3333));
    expect(out2[0]!.data.length).toBe(16);
    expect(out2[1]!.data.length).toBe(REP_LEN + ETH_LEN);
  });

  it("egress clone: copy of the egress packet, processed after the original", () => {
    const { e, add } = setup();
    add(0x9999, "fwd", [3n]);
    e.addEntry("t_e2e", {
      key: [{ kind: "exact", value: 0x9999n }],
      priority: 0,
      action: { kind: "action", call: { action: "e2e", args: [8n] } },
    });
    e.setCloneSession(8, { replicas: [{ port: 7, rid: 0 }], truncateBytes: 0 });
    const out = e.process(1, frame(0x9999));
    expect(out.map((o) => [o.port, rep(o.data).itype])).toEqual([
      [3, 0],
      [7, 2],
    ]);
  });

  it("resubmit preserves the field list; recirculate re-enters ingress with the deparsed packet", () => {
    const { e, add } = setup();
    add(0x5555, "resub", [8n]);
    add(0x6666, "recirc", [4n]);
    const r = e.process(1, frame(0x5555));
    expect(r.map((o) => o.port)).toEqual([8]);
    expect(rep(r[0]!.data)).toMatchObject({ itype: 0, iport: 0, plen: ETH_LEN });
    const c = e.process(1, frame(0x6666));
    expect(c.map((o) => o.port)).toEqual([4]);
    expect(rep(c[0]!.data)).toMatchObject({ itype: 0, plen: ETH_LEN });
    expect(c[0]!.data.length).toBe(REP_LEN + ETH_LEN);
  });

  it("digests from learn lists, with the ports of the packet that made them", () => {
    const { e, add } = setup();
    add(0x7777, "learn", [2n]);
    const got: DigestMessage[] = [];
    e.onDigest((d) => got.push(d));
    e.process(3, frame(0x7777, 0x00000000beefn));
    // The packet came in on 3 and was sent to port 2 (the action's parameter).
    expect(got).toEqual([{ name: "mac_learn_digest", values: [0xbeefn, 3n], ingressPort: 3, egressPort: 2 }]);
  });

  it("counters, registers and hashes", () => {
    const { e, add } = setup();
    add(0x1111, "fwd", [3n]);
    e.process(2, frame(0x1111));
    const out = e.process(2, frame(0x1111));
    expect(e.readCounter("c", 2)).toEqual({ packets: 2n, bytes: BigInt(2 * ETH_LEN) });
    expect(e.readRegister("r", 2)).toBe(2n);
    expect(rep(out[0]!.data).reg).toBe(1);
    // CRC-16/ARC of 00 01 02 03 04 05
    expect(rep(out[0]!.data).h).toBe(crc16arc([0, 1, 2, 3, 4, 5]));
    e.writeRegister("r", 2, 100n);
    expect(rep(e.process(2, frame(0x1111))[0]!.data).reg).toBe(100);
    e.writeCounter("c", 2, { packets: 0n, bytes: 0n });
    expect(e.readCounter("c", 2)).toEqual({ packets: 0n, bytes: 0n });
    expect(() => e.readRegister("r", 16)).toThrow(/out of range/);
    expect(() => e.writeRegister("r", 0, 1n << 16n)).toThrow(/wider/);
  });

  it("meters: trTCM colours with BMv2 token buckets", () => {
    const { e, add, tick } = setup();
    add(0x1111, "fwd", [3n]);
    // 1 packet/s committed with burst 2, 2 packets/s peak with burst 3
    e.setMeter("m", 0, { cir: 1n, cburst: 2n, pir: 2n, pburst: 3n });
    const colours: number[] = [];
    for (let i = 0; i < 5; i++) colours.push(rep(e.process(1, frame(0x1111))[0]!.data).color!);
    expect(colours).toEqual([0, 0, 1, 2, 2]);
    tick(1_000_000n); // one second: +1 committed token, +2 peak tokens
    colours.length = 0;
    for (let i = 0; i < 3; i++) colours.push(rep(e.process(1, frame(0x1111))[0]!.data).color!);
    expect(colours).toEqual([0, 1, 2]);
    expect(e.getMeter("m", 0)).toEqual({ cir: 1n, cburst: 2n, pir: 2n, pburst: 3n });
  });

  it("truncate shortens the transmitted packet", () => {
    const { e, add } = setup();
    add(0x8888, "trunc", [3n]);
    const out = e.process(1, frame(0x8888));
    expect(out[0]!.data.length).toBe(20);
  });
});

function crc16arc(bytes: number[]): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
