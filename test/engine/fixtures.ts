/**
 * Hand-written BMv2 JSON fixtures, shaped like p4c-bm2-ss output for v1model
 * programs, and small builders for tests of single constructs.
 */
// biome-ignore lint/suspicious/noExplicitAny: hand-written BMv2 JSON, edited freely; the engine's loader checks what it reads.
export type J = any;

export const STANDARD_METADATA_FIELDS: [string, number, boolean][] = [
  ["ingress_port", 9, false],
  ["egress_spec", 9, false],
  ["egress_port", 9, false],
  ["instance_type", 32, false],
  ["packet_length", 32, false],
  ["enq_timestamp", 32, false],
  ["enq_qdepth", 19, false],
  ["deq_timedelta", 32, false],
  ["deq_qdepth", 19, false],
  ["ingress_global_timestamp", 48, false],
  ["egress_global_timestamp", 48, false],
  ["mcast_grp", 16, false],
  ["egress_rid", 16, false],
  ["checksum_error", 1, false],
  ["parser_error", 32, false],
  ["priority", 3, false],
  ["_padding", 3, false],
];

export const FIELD_ALIASES: J[] = [
  ["queueing_metadata.enq_timestamp", ["standard_metadata", "enq_timestamp"]],
  ["queueing_metadata.enq_qdepth", ["standard_metadata", "enq_qdepth"]],
  ["queueing_metadata.deq_timedelta", ["standard_metadata", "deq_timedelta"]],
  ["queueing_metadata.deq_qdepth", ["standard_metadata", "deq_qdepth"]],
  ["intrinsic_metadata.ingress_global_timestamp", ["standard_metadata", "ingress_global_timestamp"]],
  ["intrinsic_metadata.egress_global_timestamp", ["standard_metadata", "egress_global_timestamp"]],
  ["intrinsic_metadata.mcast_grp", ["standard_metadata", "mcast_grp"]],
  ["intrinsic_metadata.egress_rid", ["standard_metadata", "egress_rid"]],
  ["intrinsic_metadata.priority", ["standard_metadata", "priority"]],
];

export const ERRORS: J[] = [
  ["NoError", 0],
  ["PacketTooShort", 1],
  ["NoMatch", 2],
  ["StackOutOfBounds", 3],
  ["HeaderTooShort", 4],
  ["ParserTimeout", 5],
  ["ParserInvalidArgument", 6],
];

export const ETHERNET: [string, number, boolean][] = [
  ["dstAddr", 48, false],
  ["srcAddr", 48, false],
  ["etherType", 16, false],
];

export const IPV4: [string, number, boolean][] = [
  ["version", 4, false],
  ["ihl", 4, false],
  ["diffserv", 8, false],
  ["totalLen", 16, false],
  ["identification", 16, false],
  ["flags", 3, false],
  ["fragOffset", 13, false],
  ["ttl", 8, false],
  ["protocol", 8, false],
  ["hdrChecksum", 16, false],
  ["srcAddr", 32, false],
  ["dstAddr", 32, false],
];

export const f = (h: string, fl: string): J => ({ type: "field", value: [h, fl] });
export const hex = (v: number | bigint): J => ({ type: "hexstr", value: `0x${v.toString(16)}` });
export const rd = (i: number): J => ({ type: "runtime_data", value: i });
export const expr = (op: string, left: J, right: J): J => ({ type: "expression", value: { op, left, right } });
export const local = (i: number): J => ({ type: "local", value: i });
/** BMv2 wants primitive parameters of type expression wrapped twice (as p4c emits them). */
const param = (p: J): J =>
  p && p.type === "expression" && p.value && typeof p.value === "object" && "op" in p.value ? { type: "expression", value: p } : p;
export const assign = (dst: J, src: J): J => ({ op: "assign", parameters: [param(dst), param(src)] });
export const prim = (op: string, ...parameters: J[]): J => ({ op, parameters: parameters.map(param) });

export interface ProgramParts {
  headerTypes?: J[];
  headers?: J[];
  headerStacks?: J[];
  parser?: J;
  deparserOrder?: string[];
  actions?: J[];
  ingress?: J;
  egress?: J;
  calculations?: J[];
  checksums?: J[];
  registers?: J[];
  counters?: J[];
  meters?: J[];
  learnLists?: J[];
  fieldLists?: J[];
  parseVsets?: J[];
  extra?: Record<string, J>;
}

export function headerType(name: string, id: number, fields: J[]): J {
  return { name, id, fields };
}

/** A v1model-shaped program: standard_metadata, scalars, and the given parts. */
export function program(p: ProgramParts): J {
  const types = [headerType("scalars_0", 0, []), headerType("standard_metadata", 1, STANDARD_METADATA_FIELDS), ...(p.headerTypes ?? [])];
  const headers = [
    { name: "scalars", id: 0, header_type: "scalars_0", metadata: true, pi_omit: true },
    { name: "standard_metadata", id: 1, header_type: "standard_metadata", metadata: true, pi_omit: true },
    ...(p.headers ?? []),
  ];
  return {
    header_types: types,
    headers,
    header_stacks: p.headerStacks ?? [],
    header_union_types: [],
    header_unions: [],
    header_union_stacks: [],
    field_lists: p.fieldLists ?? [],
    errors: ERRORS,
    enums: [],
    parsers: [
      p.parser ?? {
        name: "parser",
        id: 0,
        init_state: "start",
        parse_states: [
          {
            name: "start",
            id: 0,
            parser_ops: [],
            transitions: [{ type: "default", value: null, mask: null, next_state: null }],
            transition_key: [],
          },
        ],
      },
    ],
    parse_vsets: p.parseVsets ?? [],
    deparsers: [{ name: "deparser", id: 0, order: p.deparserOrder ?? [], primitives: [] }],
    meter_arrays: p.meters ?? [],
    counter_arrays: p.counters ?? [],
    register_arrays: p.registers ?? [],
    calculations: p.calculations ?? [],
    learn_lists: p.learnLists ?? [],
    actions: p.actions ?? [],
    pipelines: [
      p.ingress ?? { name: "ingress", id: 0, init_table: null, tables: [], action_profiles: [], conditionals: [] },
      p.egress ?? { name: "egress", id: 1, init_table: null, tables: [], action_profiles: [], conditionals: [] },
    ],
    checksums: p.checksums ?? [],
    force_arith: [],
    extern_instances: [],
    field_aliases: FIELD_ALIASES,
    program: "test.p4",
    __meta__: { version: [2, 23], compiler: "hand-written fixture" },
    ...(p.extra ?? {}),
  };
}

/** A table applied unconditionally with the given actions and default. */
export function table(
  name: string,
  id: number,
  key: J[],
  actions: [string, number][],
  defaultAction: [number, string[]],
  next: string | null,
  extra: J = {},
): J {
  return {
    name,
    id,
    key,
    match_type: key.some((k: J) => k.match_type === "range")
      ? "range"
      : key.some((k: J) => k.match_type === "ternary" || k.match_type === "optional")
        ? "ternary"
        : key.some((k: J) => k.match_type === "lpm")
          ? "lpm"
          : "exact",
    type: "simple",
    max_size: 1024,
    with_counters: false,
    support_timeout: false,
    direct_meters: null,
    action_ids: actions.map((a) => a[1]),
    actions: actions.map((a) => a[0]),
    base_default_next: next,
    next_tables: Object.fromEntries(actions.map((a) => [a[0], next])),
    default_entry: { action_id: defaultAction[0], action_const: false, action_data: defaultAction[1], action_entry_const: false },
    ...extra,
  };
}

/** The p4lang/tutorials "basic" IPv4 forwarding program, as p4c emits it. */
export function basicProgram(): J {
  return program({
    headerTypes: [headerType("ethernet_t", 2, ETHERNET), headerType("ipv4_t", 3, IPV4)],
    headers: [
      { name: "ethernet", id: 2, header_type: "ethernet_t", metadata: false, pi_omit: true },
      { name: "ipv4", id: 3, header_type: "ipv4_t", metadata: false, pi_omit: true },
    ],
    parser: {
      name: "parser",
      id: 0,
      init_state: "start",
      parse_states: [
        {
          name: "start",
          id: 0,
          parser_ops: [{ parameters: [{ type: "regular", value: "ethernet" }], op: "extract" }],
          transitions: [
            { type: "hexstr", value: "0x0800", mask: null, next_state: "parse_ipv4" },
            { type: "default", value: null, mask: null, next_state: null },
          ],
          transition_key: [f("ethernet", "etherType")],
        },
        {
          name: "parse_ipv4",
          id: 1,
          parser_ops: [{ parameters: [{ type: "regular", value: "ipv4" }], op: "extract" }],
          transitions: [{ type: "default", value: null, mask: null, next_state: null }],
          transition_key: [],
        },
      ],
    },
    deparserOrder: ["ethernet", "ipv4"],
    actions: [
      { name: "NoAction", id: 0, runtime_data: [], primitives: [] },
      {
        name: "MyIngress.drop",
        id: 1,
        runtime_data: [],
        primitives: [prim("mark_to_drop", { type: "header", value: "standard_metadata" })],
      },
      {
        name: "MyIngress.ipv4_forward",
        id: 2,
        runtime_data: [
          { name: "dstAddr", bitwidth: 48 },
          { name: "port", bitwidth: 9 },
        ],
        primitives: [
          assign(f("standard_metadata", "egress_spec"), rd(1)),
          assign(f("ethernet", "srcAddr"), f("ethernet", "dstAddr")),
          assign(f("ethernet", "dstAddr"), rd(0)),
          assign(f("ipv4", "ttl"), expr("&", expr("+", f("ipv4", "ttl"), hex(0xff)), hex(0xff))),
        ],
      },
    ],
    ingress: {
      name: "ingress",
      id: 0,
      init_table: "node_2",
      tables: [
        table(
          "MyIngress.ipv4_lpm",
          0,
          [{ match_type: "lpm", name: "hdr.ipv4.dstAddr", target: ["ipv4", "dstAddr"], mask: null }],
          [
            ["MyIngress.ipv4_forward", 2],
            ["MyIngress.drop", 1],
            ["NoAction", 0],
          ],
          [1, []],
          null,
        ),
      ],
      action_profiles: [],
      conditionals: [
        {
          name: "node_2",
          id: 0,
          expression: { type: "expression", value: { op: "d2b", left: null, right: f("ipv4", "$valid$") } },
          false_next: null,
          true_next: "MyIngress.ipv4_lpm",
        },
      ],
    },
    calculations: [
      {
        name: "calc",
        id: 0,
        algo: "csum16",
        input: IPV4.filter((x) => x[0] !== "hdrChecksum").map((x) => f("ipv4", x[0])),
      },
    ],
    checksums: [
      {
        name: "cksum",
        id: 0,
        target: ["ipv4", "hdrChecksum"],
        type: "generic",
        calculation: "calc",
        verify: false,
        update: true,
        if_cond: { type: "expression", value: { op: "d2b", left: null, right: f("ipv4", "$valid$") } },
      },
    ],
  });
}

/** Builds an Ethernet/IPv4/UDP packet with a correct IPv4 checksum. */
export function ipv4Packet(
  opts: { dst?: number; src?: number; ttl?: number; payload?: number; proto?: number; ethDst?: bigint; ethSrc?: bigint } = {},
): Uint8Array {
  const payload = opts.payload ?? 18;
  const total = 20 + payload;
  const p = new Uint8Array(14 + total);
  const dv = new DataView(p.buffer);
  const ethDst = opts.ethDst ?? 0x001122334455n;
  const ethSrc = opts.ethSrc ?? 0x00aabbccddeen;
  for (let i = 0; i < 6; i++) {
    p[i] = Number((ethDst >> BigInt(8 * (5 - i))) & 0xffn);
    p[6 + i] = Number((ethSrc >> BigInt(8 * (5 - i))) & 0xffn);
  }
  dv.setUint16(12, 0x0800);
  p[14] = 0x45;
  dv.setUint16(16, total);
  dv.setUint16(18, 0x1234);
  p[22] = opts.ttl ?? 64;
  p[23] = opts.proto ?? 17;
  dv.setUint32(26, opts.src ?? 0x0a000001);
  dv.setUint32(30, opts.dst ?? 0x0a000102);
  dv.setUint16(24, ipChecksum(p.subarray(14, 34)));
  for (let i = 0; i < payload; i++) p[34 + i] = (i * 7 + 3) & 0xff;
  return p;
}

export function ipChecksum(h: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < h.length; i += 2) if (i !== 10) s += (h[i]! << 8) | h[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function hexOf(d: Uint8Array): string {
  return Buffer.from(d).toString("hex");
}
