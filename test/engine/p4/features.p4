// p4cast engine test program: v1model externs and architecture features.
// Written for the engine's tests; compiled with p4c-bm2-ss at test time.
#include <core.p4>
#include <v1model.p4>

header ethernet_t { bit<48> dst; bit<48> src; bit<16> etype; }
header rep_t {
    bit<16> crc16; bit<32> crc32; bit<16> csum; bit<16> xor16; bit<32> ident;
    bit<8> color; bit<8> dcolor; bit<32> reg; bit<8> sel; bit<8> itype;
    bit<16> rid; bit<16> plen; bit<8> optlen; bit<8> perr; bit<16> iport;
}
header opt_t { bit<8> len; varbit<64> data; }
header tag_t { bit<8> v; }

struct meta_t {
    @field_list(1) bit<8> pass;
    bit<8> color;
    bit<8> dcolor;
    bit<32> reg;
    bit<8> sel;
}
struct headers_t { rep_t rep; ethernet_t eth; opt_t opt; tag_t[3] tags; }
struct digest_t { bit<48> src; bit<9> port; }

parser P(packet_in pkt, out headers_t h, inout meta_t m, inout standard_metadata_t sm) {
    state start {
        pkt.extract(h.eth);
        transition select(h.eth.etype) { 0x88b5: opt; 0x88b6: tags; default: accept; }
    }
    state opt {
        bit<8> l = pkt.lookahead<bit<8>>();
        pkt.extract(h.opt, (bit<32>)l * 8);
        transition accept;
    }
    state tags {
        pkt.extract(h.tags.next);
        transition select(h.tags.last.v) { 0: accept; default: tags; }
    }
}

control VC(inout headers_t h, inout meta_t m) { apply { } }

control I(inout headers_t h, inout meta_t m, inout standard_metadata_t sm) {
    counter(16, CounterType.packets_and_bytes) c;
    register<bit<32>>(16) r;
    meter(4, MeterType.packets) mt;
    direct_meter<bit<8>>(MeterType.packets) dm;
    action_selector(HashAlgorithm.crc16, 16, 16) as;

    action set_port(bit<9> port) { sm.egress_spec = port; dm.read(m.dcolor); }
    action do_mcast(bit<16> grp) { sm.mcast_grp = grp; dm.read(m.dcolor); }
    action do_clone(bit<32> session, bit<9> port) { clone(CloneType.I2E, session); sm.egress_spec = port; dm.read(m.dcolor); }
    action do_resubmit() { m.pass = 1; resubmit_preserving_field_list(1); dm.read(m.dcolor); }
    action do_recirc(bit<9> port) { sm.egress_spec = port; m.pass = 2; dm.read(m.dcolor); }
    action do_digest(bit<9> port) { digest<digest_t>(1, { h.eth.src, sm.ingress_port }); sm.egress_spec = port; dm.read(m.dcolor); }
    action drop() { mark_to_drop(sm); dm.read(m.dcolor); }
    table fwd {
        key = { h.eth.etype: exact; }
        actions = { set_port; do_mcast; do_clone; do_resubmit; do_recirc; do_digest; drop; }
        default_action = drop();
        meters = dm;
    }
    action pick(bit<8> v) { m.sel = v; }
    table sel_t {
        key = { h.eth.etype: exact; h.eth.src: selector; }
        actions = { pick; NoAction; }
        implementation = as;
        default_action = NoAction();
    }
    action after_resubmit() { sm.egress_spec = 5; }
    apply {
        if (sm.instance_type == 6) {
            after_resubmit();
        } else if (sm.instance_type == 4) {
            sm.egress_spec = 6;
            m.pass = 0;
        } else {
            fwd.apply();
        }
        sel_t.apply();
        c.count((bit<32>)sm.ingress_port);
        r.read(m.reg, (bit<32>)sm.ingress_port);
        r.write((bit<32>)sm.ingress_port, m.reg + 1);
        mt.execute_meter((bit<32>)0, m.color);
    }
}

control E(inout headers_t h, inout meta_t m, inout standard_metadata_t sm) {
    apply {
        if (m.pass == 2 && sm.instance_type == 0) {
            recirculate_preserving_field_list(1);
            return;
        }
        h.rep.setValid();
        hash(h.rep.crc16, HashAlgorithm.crc16, 16w0, { h.eth.dst, h.eth.etype }, 17w65536);
        hash(h.rep.crc32, HashAlgorithm.crc32, 32w0, { h.eth.dst, h.eth.etype }, 33w4294967296);
        hash(h.rep.csum, HashAlgorithm.csum16, 16w0, { h.eth.dst, h.eth.etype }, 17w65536);
        hash(h.rep.xor16, HashAlgorithm.xor16, 16w0, { h.eth.dst, h.eth.etype }, 17w65536);
        hash(h.rep.ident, HashAlgorithm.identity, 32w0, { h.eth.etype }, 33w4294967296);
        h.rep.color = m.color;
        h.rep.dcolor = m.dcolor;
        h.rep.reg = m.reg;
        h.rep.sel = m.sel;
        h.rep.itype = (bit<8>)sm.instance_type;
        h.rep.rid = sm.egress_rid;
        h.rep.plen = (bit<16>)sm.packet_length;
        h.rep.optlen = h.opt.isValid() ? h.opt.len : 8w255;
        h.rep.perr = (bit<8>)(sm.parser_error == error.NoError ? 8w0 : 8w1);
        h.rep.iport = (bit<16>)sm.ingress_port;
        if (h.tags[0].isValid()) {
            h.tags.pop_front(1);
        }
    }
}

control CC(inout headers_t h, inout meta_t m) { apply { } }

control D(packet_out pkt, in headers_t h) {
    apply { pkt.emit(h.rep); pkt.emit(h.eth); pkt.emit(h.opt); pkt.emit(h.tags); }
}

V1Switch(P(), VC(), I(), E(), CC(), D()) main;
