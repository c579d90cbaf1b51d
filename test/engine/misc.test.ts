/** Hashes, load-time rejection, selectors, direct resources, unions, stacks, checksums, logging. */
import { describe, expect, it } from "vitest";
import { EngineError, P4AssertionError, loadEngine } from "../../src/switch/engine/index.js";
import { csum16, hashAlgo } from "../../src/switch/engine/hashes.js";
import {
  ETHERNET,
  IPV4,
  type J,
  assign,
  basicProgram,
  expr,
  f,
  headerType,
  hex,
  ipv4Packet,
  prim,
  program,
  rd,
  table,
} from "./fixtures.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("hash algorithms", () => {
  it("match the standard check values", () => {
    const c = (n: string) => hashAlgo(n).compute(enc("123456789"), 9);
    expect(c("crc16")).toBe(0xbb3d);
    expect(c("crc32")).toBe(0xcbf43926);
    expect(c("crcCCITT")).toBe(0x29b1);
    expect(c("crc16_custom")).toBe(0xbb3d);
    expect(c("crc32_custom")).toBe(0xcbf43926);
    expect(c("identity")).toBe(0x3132333435363738n);
    expect(c("xor16")).toBe((0x3132 ^ 0x3334 ^ 0x3536 ^ 0x3738 ^ 0x3900) & 0xffff);
    expect(csum16(new Uint8Array([0x45, 0x00, 0x00, 0x1c]), 4)).toBe(~(0x4500 + 0x001c) & 0xffff);
    expect(csum16(new Uint8Array([0x01]), 1)).toBe(~0x0100 & 0xffff);
    expect(() => hashAlgo("xxh64")).toThrow(/hash algorithm 'xxh64'/);
  });
});

describe("load-time validation", () => {
  const reject = (mut: (j: J) => void, re: RegExp) => {
    const j = basicProgram();
    mut(j);
    let err: unknown;
    try {
      loadEngine(j);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EngineError);
    expect((err as Error).message).toMatch(re);
  };
  it("rejects constructs it cannot run, naming them", () => {
    reject((j) => j.actions[1].primitives.push({ op: "frobnicate", parameters: [] }), /primitive 'frobnicate'/);
    reject(
      (j) => (j.extern_instances = [{ name: "my_ext", id: 0, type: "Foo", attribute_values: [] }]),
      /extern instance 'my_ext' of type 'Foo'/,
    );
    reject((j) => (j.calculations[0].algo = "xxh64"), /hash algorithm 'xxh64'/);
    reject(
      (j) => (j.pipelines[0].conditionals[0].expression = { type: "expression", value: { op: "frob", left: null, right: null } }),
      /expression operator 'frob'/,
    );
    reject((j) => (j.parsers[0].parse_states[0].parser_ops[0].op = "extract_magic"), /parser op 'extract_magic'/);
    reject((j) => (j.pipelines[0].tables[0].key[0].match_type = "fuzzy"), /match type 'fuzzy'/);
    reject((j) => (j.__meta__.version = [3, 0]), /version/);
    reject((j) => (j.shiny_new_section = []), /top-level JSON attribute 'shiny_new_section'/);
    reject((j) => (j.checksums[0].type = "ipv4"), /checksum cksum of type 'ipv4'/);
    reject((j) => (j.pipelines[0].tables[0].type = "magic"), /table type 'magic'/);
    reject((j) => (j.meter_arrays = [{ name: "m3", id: 0, type: "packets", rate_count: 3, size: 1, is_direct: false }]), /rate_count 3/);
  });
  it("rejects malformed documents", () => {
    expect(() => loadEngine(null)).toThrow(EngineError);
    expect(() => loadEngine({ __meta__: { version: [2, 0] }, headers: 3 })).toThrow(/header_types must be an array|headers/);
  });
  it("reports the shape errors it finds as malformed JSON, naming the place", () => {
    reject((j) => (j.pipelines[0] = null), /malformed BMv2 JSON: a pipeline must be an object/);
    reject((j) => (j.actions[2].primitives[1].parameters[0].value = null), /action MyIngress.ipv4_forward: bad field reference null/);
    reject((j) => (j.actions[2].primitives[3].parameters[1].value.value.left = 7), /action MyIngress.ipv4_forward: bad operand 7/);
    reject((j) => (j.parsers[0].parse_states[0].parser_ops[0].parameters = []), /parser state start: extract expects 1 parameter/);
    reject((j) => (j.parsers[0].parse_states[0].transitions[0].mask = 255), /expected hexstr, got 255/);
    reject(
      (j) => (j.pipelines[0].tables[0].default_entry.action_id = "1"),
      /default action id of table MyIngress.ipv4_lpm must be an integer/,
    );
    reject((j) => (j.pipelines[0].tables[0].next_tables = "node_2"), /next_tables of table MyIngress.ipv4_lpm must be an object/);
    reject((j) => (j.headers[2].id = null), /id of header ethernet must be an integer/);
    reject((j) => (j.checksums[0].target = ["ipv4"]), /checksum cksum: bad field reference \["ipv4"\]/);
    reject((j) => (j.calculations[0].input[0] = { type: "hexstr", value: "0x1" }), /calculation calc: hexstr input without bitwidth/);
  });
  it("accepts what p4c writes: empty log_msg vectors as {}, direct counters without a size, old-style default transitions", () => {
    const j = basicProgram();
    j.actions[0].primitives.push(prim("log_msg", { type: "string", value: "hello" }, { type: "parameters_vector", value: {} }));
    j.counter_arrays = [{ name: "dc", id: 0, is_direct: true, binding: "MyIngress.ipv4_lpm" }];
    j.parsers[0].parse_states[1].transitions = [{ value: "default", mask: null, next_state: null }];
    expect(() => loadEngine(j)).not.toThrow();
  });
});

function selectorProgram(): J {
  return program({
    headerTypes: [headerType("ethernet_t", 2, ETHERNET)],
    headers: [{ name: "ethernet", id: 2, header_type: "ethernet_t", metadata: false }],
    parser: {
      name: "parser",
      id: 0,
      init_state: "start",
      parse_states: [
        {
          name: "start",
          id: 0,
          parser_ops: [{ op: "extract", parameters: [{ type: "regular", value: "ethernet" }] }],
          transitions: [{ type: "default", value: null, mask: null, next_state: null }],
          transition_key: [],
        },
      ],
    },
    deparserOrder: ["ethernet"],
    counters: [{ name: "dc", id: 0, is_direct: true, binding: "t", size: 1024 }],
    meters: [
      {
        name: "dm",
        id: 0,
        is_direct: true,
        binding: "t2",
        rate_count: 2,
        type: "packets",
        size: 1024,
        result_target: ["ethernet", "srcAddr"],
      },
    ],
    actions: [
      {
        name: "fwd",
        id: 0,
        runtime_data: [{ name: "port", bitwidth: 9 }],
        primitives: [assign(f("standard_metadata", "egress_spec"), rd(0))],
      },
      { name: "NoAction", id: 1, runtime_data: [], primitives: [] },
    ],
    ingress: {
      name: "ingress",
      id: 0,
      init_table: "t",
      action_profiles: [{ name: "sel", id: 0, max_size: 64, selector: { algo: "crc16", input: [f("ethernet", "srcAddr")] } }],
      tables: [
        {
          ...table(
            "t",
            0,
            [{ match_type: "exact", name: "etherType", target: ["ethernet", "etherType"], mask: null }],
            [
              ["fwd", 0],
              ["NoAction", 1],
            ],
            [1, []],
            "t2",
            { type: "indirect_ws", action_profile: "sel", with_counters: true },
          ),
          default_entry: undefined,
        },
        table(
          "t2",
          1,
          [{ match_type: "exact", name: "etherType", target: ["ethernet", "etherType"], mask: null }],
          [
            ["fwd", 0],
            ["NoAction", 1],
          ],
          [1, []],
          null,
          { direct_meters: "dm", support_timeout: true },
        ),
      ],
      conditionals: [],
    },
  });
}

const frame = (etherType: number, src: number) => {
  const p = new Uint8Array(20);
  p[11] = src;
  p[12] = etherType >> 8;
  p[13] = etherType & 0xff;
  return p;
};

describe("action profiles and selectors", () => {
  it("selects group members by hash; direct counters count hits", () => {
    const e = loadEngine(selectorProgram());
    const fwd = (p: bigint) => ({ action: "fwd", args: [p] });
    e.addMember("sel", 1, fwd(1n));
    e.addMember("sel", 2, fwd(2n));
    e.addMember("sel", 3, fwd(3n));
    e.setGroup("sel", 10, [
      { member: 1, weight: 1 },
      { member: 2, weight: 1 },
      { member: 3, weight: 1 },
    ]);
    const h = e.addEntry("t", { key: [{ kind: "exact", value: 0x800n }], priority: 0, action: { kind: "group", group: 10 } });
    expect(() => e.deleteMember("sel", 1)).toThrow(/in a group/);
    expect(() => e.deleteGroup("sel", 10)).toThrow(/used by table entries/);
    const seen = new Map<number, number>();
    for (let s = 0; s < 60; s++) {
      const out = e.process(0, frame(0x800, s));
      const crc = hashAlgo("crc16").compute(new Uint8Array([0, 0, 0, 0, 0, s]), 6) as number;
      expect(out[0]!.port).toBe((crc % 3) + 1);
      seen.set(out[0]!.port, (seen.get(out[0]!.port) ?? 0) + 1);
    }
    expect(seen.size).toBe(3);
    expect(e.readDirectCounter("t", h)).toEqual({ packets: 60n, bytes: 1200n });
    e.modifyEntry("t", h, { kind: "member", member: 2 });
    expect(e.process(0, frame(0x800, 1))[0]!.port).toBe(2);
    e.deleteEntry("t", h);
    e.deleteGroup("sel", 10);
    e.deleteMember("sel", 1);
    expect(e.members("sel")).toEqual([2, 3]);
    expect(() => e.addEntry("t", { key: [{ kind: "exact", value: 1n }], priority: 0, action: { kind: "action", call: fwd(1n) } })).toThrow(
      /indirect/,
    );
  });

  it("direct meters write their colour to the result target; idle time is recorded", () => {
    let now = 5_000_000n;
    const e = loadEngine(selectorProgram(), { clock: () => now });
    const h = e.addEntry("t2", {
      key: [{ kind: "exact", value: 0x801n }],
      priority: 0,
      action: { kind: "action", call: { action: "fwd", args: [4n] } },
      idleTimeoutNs: 1_000_000n,
    });
    expect(e.entryLastHitUs("t2", h)).toBe(5_000_000n);
    e.setDirectMeter("t2", h, { cir: 0n, cburst: 1n, pir: 0n, pburst: 1n });
    now += 10n;
    const colours = [0, 1, 2].map(() => e.process(0, frame(0x801, 0))[0]!.data[11]);
    expect(colours).toEqual([0, 2, 2]);
    expect(e.entryLastHitUs("t2", h)).toBe(5_000_010n);
    expect(e.getDirectMeter("t2", h)).toEqual({ cir: 0n, cburst: 1n, pir: 0n, pburst: 1n });
    expect(() =>
      e.addEntry("t", { key: [{ kind: "exact", value: 2n }], priority: 0, action: { kind: "member", member: 1 }, idleTimeoutNs: 5n }),
    ).toThrow(EngineError);
  });
});

describe("headers: unions, stacks, assign_header, checksum verify, logging, assert", () => {
  function unionProgram(): J {
    const h = (n: string): J => ({ type: "header", value: n });
    return program({
      headerTypes: [headerType("a_t", 2, [["x", 8, false]]), headerType("b_t", 3, [["y", 16, false]]), headerType("ipv4_t", 4, IPV4)],
      headers: [
        { name: "u.a", id: 2, header_type: "a_t", metadata: false },
        { name: "u.b", id: 3, header_type: "b_t", metadata: false },
        { name: "s[0]", id: 4, header_type: "a_t", metadata: false },
        { name: "s[1]", id: 5, header_type: "a_t", metadata: false },
        { name: "s[2]", id: 6, header_type: "a_t", metadata: false },
        { name: "ipv4", id: 7, header_type: "ipv4_t", metadata: false },
        { name: "copy", id: 8, header_type: "a_t", metadata: false },
      ],
      headerStacks: [{ name: "s", id: 0, header_type: "a_t", size: 3, header_ids: [4, 5, 6] }],
      extra: {
        header_union_types: [
          {
            name: "u_t",
            id: 0,
            headers: [
              ["a", "a_t"],
              ["b", "b_t"],
            ],
          },
        ],
        header_unions: [{ name: "u", id: 0, union_type: "u_t", header_ids: [2, 3] }],
      },
      parser: {
        name: "parser",
        id: 0,
        init_state: "start",
        parse_states: [
          {
            name: "start",
            id: 0,
            parser_ops: [
              { op: "extract", parameters: [{ type: "regular", value: "ipv4" }] },
              { op: "extract", parameters: [{ type: "regular", value: "u.a" }] },
              { op: "extract", parameters: [{ type: "stack", value: "s" }] },
            ],
            transitions: [{ type: "default", value: null, mask: null, next_state: null }],
            transition_key: [],
          },
        ],
      },
      deparserOrder: ["copy", "ipv4", "u.a", "u.b", "s[0]", "s[1]", "s[2]"],
      calculations: [{ name: "ck", id: 0, algo: "csum16", input: IPV4.filter((x) => x[0] !== "hdrChecksum").map((x) => f("ipv4", x[0])) }],
      checksums: [
        {
          name: "ipv4ck",
          id: 0,
          target: ["ipv4", "hdrChecksum"],
          type: "generic",
          calculation: "ck",
          verify: true,
          update: false,
          if_cond: null,
        },
      ],
      actions: [
        {
          name: "act",
          id: 0,
          runtime_data: [],
          primitives: [
            prim("push", { type: "header_stack", value: "s" }, hex(1)),
            prim("add_header", {
              type: "expression",
              value: { op: "dereference_header_stack", left: { type: "header_stack", value: "s" }, right: hex(0) },
            }),
            assign(
              {
                type: "expression",
                value: {
                  op: "access_field",
                  left: {
                    type: "expression",
                    value: { op: "dereference_header_stack", left: { type: "header_stack", value: "s" }, right: f("u.a", "x") },
                  },
                  right: 0,
                },
              },
              hex(0x77),
            ),
            prim("assign_header", h("copy"), h("u.a")),
            prim("add_header", h("u.b")),
            assign(f("u.b", "y"), expr("&", f("standard_metadata", "checksum_error"), hex(0xffff))),
            prim(
              "log_msg",
              { type: "string", value: "x={} err={}" },
              { type: "parameters_vector", value: [f("copy", "x"), f("standard_metadata", "checksum_error")] },
            ),
            prim("assert", expr("!=", f("copy", "x"), hex(0xee))),
          ],
        },
      ],
      ingress: {
        name: "ingress",
        id: 0,
        init_table: "t",
        tables: [table("t", 0, [], [["act", 0]], [0, []], null)],
        action_profiles: [],
        conditionals: [],
      },
    });
  }

  it("union validity, stack push and dynamic indexing, checksum_error", () => {
    const logs: string[] = [];
    const e = loadEngine(unionProgram(), { log: (m) => logs.push(m) });
    const ip = ipv4Packet({ payload: 0 }).subarray(14);
    const pkt = new Uint8Array([...ip, 1, 0x10, 0xff]);
    const out = e.process(0, pkt)[0]!.data;
    // copy(a)=01, ipv4, u.a invalid (u.b made valid), u.b = 0000, s[0] new (x=0),
    // s[1]=0x77 (old s[0] was 0x10, overwritten by s[u.a.x=1]), 0xff payload
    expect([...out]).toEqual([1, ...ip, 0, 0, 0, 0x77, 0xff]);
    expect(logs).toContain("x=1 err=0");
    ip[24 - 14]! ^= 0xff; // corrupt checksum
    const out2 = e.process(0, new Uint8Array([...ip, 1, 0x10, 0xff]))[0]!.data;
    expect([out2[21], out2[22]]).toEqual([0, 1]);
    expect(() => e.process(0, new Uint8Array([...ip, 0xee, 0x10]))).toThrow(P4AssertionError);
  });
});
