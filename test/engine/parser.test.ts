/** Parser: stacks, varbit, lookahead, verify, advance, value sets, errors; fuzzing. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadEngine } from "../../src/switch/engine/index.js";
import { ERRORS, ETHERNET, type J, expr, f, headerType, prim, program, table } from "./fixtures.js";

const MPLS: J[] = [
  ["label", 20, false],
  ["tc", 3, false],
  ["bos", 1, false],
  ["ttl", 8, false],
];

function parserProgram(): J {
  const st = (name: string, id: number, ops: J[], key: J[], trans: J[]): J => ({
    name,
    id,
    parser_ops: ops,
    transition_key: key,
    transitions: trans,
  });
  const dflt = (next: string | null): J => ({ type: "default", value: null, mask: null, next_state: next });
  const p = program({
    headerTypes: [
      headerType("ethernet_t", 2, ETHERNET),
      headerType("mpls_t", 3, MPLS),
      {
        name: "opt_t",
        id: 4,
        fields: [
          ["len", 8, false],
          ["data", "*"],
        ],
        max_length: 10,
      },
      headerType("info_t", 5, [
        ["err", 32, false],
        ["n", 8, false],
        ["last", 8, false],
        ["optlen", 8, false],
        ["ck", 8, false],
      ]),
      headerType("meta_t", 6, [
        ["len", 8, false],
        ["x", 16, false],
      ]),
    ],
    headers: [
      { name: "ethernet", id: 2, header_type: "ethernet_t", metadata: false },
      { name: "mpls[0]", id: 3, header_type: "mpls_t", metadata: false },
      { name: "mpls[1]", id: 4, header_type: "mpls_t", metadata: false },
      { name: "mpls[2]", id: 5, header_type: "mpls_t", metadata: false },
      { name: "opt", id: 6, header_type: "opt_t", metadata: false },
      { name: "info", id: 7, header_type: "info_t", metadata: false },
      { name: "meta", id: 8, header_type: "meta_t", metadata: true },
    ],
    headerStacks: [{ name: "mpls", id: 0, header_type: "mpls_t", size: 3, header_ids: [3, 4, 5] }],
    parseVsets: [{ name: "vs", id: 0, compressed_bitwidth: 16 }],
    parser: {
      name: "parser",
      id: 0,
      init_state: "start",
      parse_states: [
        st(
          "start",
          0,
          [{ op: "extract", parameters: [{ type: "regular", value: "ethernet" }] }],
          [f("ethernet", "etherType")],
          [{ type: "hexstr", value: "0x8847", mask: null, next_state: "parse_mpls" }, dflt(null)],
        ),
        st(
          "parse_mpls",
          1,
          [{ op: "extract", parameters: [{ type: "stack", value: "mpls" }] }],
          [{ type: "stack_field", value: ["mpls", "bos"] }],
          [{ type: "hexstr", value: "0x01", mask: null, next_state: "parse_opt" }, dflt("parse_mpls")],
        ),
        st(
          "parse_opt",
          2,
          [
            { op: "set", parameters: [f("meta", "len"), { type: "lookahead", value: [0, 8] }] },
            {
              op: "verify",
              parameters: [expr("<=", f("meta", "len"), { type: "hexstr", value: "0x08" }), { type: "hexstr", value: "0x7" }],
            },
            {
              op: "extract_VL",
              parameters: [
                { type: "regular", value: "opt" },
                { type: "expression", value: { op: "<<", left: f("meta", "len"), right: { type: "hexstr", value: "0x3" } } },
              ],
            },
          ],
          [{ type: "lookahead", value: [0, 16] }],
          [{ type: "parse_vset", value: "vs", mask: null, next_state: "tail" }, dflt(null)],
        ),
        st(
          "tail",
          3,
          [
            { op: "advance", parameters: [{ type: "hexstr", value: "0x10" }] },
            { op: "set", parameters: [f("meta", "x"), { type: "hexstr", value: "0xbeef" }] },
          ],
          [],
          [dflt(null)],
        ),
      ],
    },
    deparserOrder: ["info", "ethernet", "mpls[0]", "mpls[1]", "mpls[2]", "opt"],
    actions: [
      {
        name: "report",
        id: 0,
        runtime_data: [],
        primitives: [
          prim("add_header", { type: "header", value: "info" }),
          prim("assign", f("info", "err"), f("standard_metadata", "parser_error")),
          prim("assign", f("info", "n"), expr("size_stack", null, { type: "header_stack", value: "mpls" })),
          prim(
            "assign",
            f("info", "last"),
            expr("&", expr("last_stack_index", null, { type: "header_stack", value: "mpls" }), { type: "hexstr", value: "0xff" }),
          ),
          prim("assign", f("info", "optlen"), f("meta", "len")),
          prim("assign", f("info", "ck"), expr("&", f("meta", "x"), { type: "hexstr", value: "0xff" })),
        ],
      },
    ],
    ingress: {
      name: "ingress",
      id: 0,
      init_table: "t",
      tables: [table("t", 0, [], [["report", 0]], [0, []], null)],
      action_profiles: [],
      conditionals: [],
    },
  });
  p.errors = [...ERRORS, ["OptTooLong", 7]];
  return p;
}

function eth(type: number): number[] {
  return [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, type >> 8, type & 0xff];
}
function mpls(label: number, bos: boolean, ttl = 64): number[] {
  return [(label >> 12) & 0xff, (label >> 4) & 0xff, ((label & 0xf) << 4) | (bos ? 1 : 0), ttl];
}

const info = (d: Uint8Array) => ({
  err: (d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!,
  n: d[4],
  last: d[5],
  optlen: d[6],
  ck: d[7],
});

describe("parser", () => {
  const e = loadEngine(parserProgram());

  it("extracts a stack until bottom-of-stack, a varbit header, and deparses it back", () => {
    const pkt = new Uint8Array([...eth(0x8847), ...mpls(100, false), ...mpls(200, true), 3, 0xaa, 0xbb, 0xcc, 9, 9, 9]);
    const out = e.process(0, pkt);
    expect(info(out[0]!.data)).toEqual({ err: 0, n: 2, last: 1, optlen: 3, ck: 0 });
    expect([...out[0]!.data.subarray(8)]).toEqual([...pkt]);
  });

  it("reports StackOutOfBounds and keeps what was parsed", () => {
    const pkt = new Uint8Array([...eth(0x8847), ...mpls(1, false), ...mpls(2, false), ...mpls(3, false), ...mpls(4, true), 1, 2]);
    const out = e.process(0, pkt);
    expect(info(out[0]!.data)).toMatchObject({ err: 3, n: 3 });
    expect([...out[0]!.data.subarray(8)]).toEqual([...pkt]);
  });

  it("reports PacketTooShort", () => {
    const pkt = new Uint8Array([...eth(0x8847), 0, 1]);
    const out = e.process(0, pkt);
    expect(info(out[0]!.data)).toMatchObject({ err: 1, n: 0 });
    expect([...out[0]!.data.subarray(8)]).toEqual([...pkt]);
  });

  it("raises the program's own error from verify", () => {
    const pkt = new Uint8Array([...eth(0x8847), ...mpls(1, true), 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(info(e.process(0, pkt)[0]!.data)).toMatchObject({ err: 7, n: 1, optlen: 9 });
  });

  it("selects through a parse value set with lookahead and advances", () => {
    const e2 = loadEngine(parserProgram());
    const pkt = new Uint8Array([...eth(0x8847), ...mpls(1, true), 1, 0x77, 0xab, 0xcd, 5, 6]);
    expect(info(e2.process(0, pkt)[0]!.data).ck).toBe(0);
    e2.setValueSet("vs", [[{ value: 0xabcdn, mask: 0xffffn }]]);
    expect(e2.getValueSet("vs")).toEqual([[{ value: 0xabcdn, mask: 0xffffn }]]);
    const out = e2.process(0, pkt)[0]!.data;
    expect(info(out).ck).toBe(0xef);
    // the advanced-over bytes are not part of any header: they are dropped from the output
    expect([...out.subarray(8)]).toEqual([...pkt.subarray(0, pkt.length - 4), 5, 6]);
  });

  it("never throws on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (bytes, mplsType) => {
        const b = new Uint8Array(bytes);
        if (mplsType && b.length >= 14) {
          b[12] = 0x88;
          b[13] = 0x47;
        }
        const out = e.process(1, b);
        expect(out.length).toBe(1);
      }),
      { numRuns: 2000 },
    );
  });
});
