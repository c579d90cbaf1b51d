// SPDX-License-Identifier: Apache-2.0
/*
 * p4cast feature: neighbour trust. A p4cast or heartbeat packet is accepted
 * only where the topology says such packets come from; the controller
 * installs one entry per legitimate (neighbour, port) and everything else is
 * dropped and counted under its own drop reason (ingress_drop_counter).
 *
 *   tree copy       shim, outer destination multicast (224.0.0.0/4):
 *                   tree_parent_exact (session id, ingress port) -- the port
 *                   towards the session's tree parent. Checked on every
 *                   router (transit and last hop) before dedup and
 *                   replication.                       else UNTRUSTED_TREE
 *   overlay copy    shim, outer destination unicast (to this router's
 *                   overlay address, or routed through it):
 *                   overlay_sender_exact (session id, outer source = the
 *                   session's ingress router, ingress port) -- the port the
 *                   overlay path enters this router on. Checked on every
 *                   router of the path, so a client cannot inject a copy on
 *                   an earlier router either.          else UNTRUSTED_OVERLAY
 *   heartbeat       IPv4/UDP 49374, version 1, addressed to this switch
 *                   (request or response): heartbeat_neighbor_exact
 *                   (ingress port, IPv4 source) -- the link's port and the
 *                   neighbour's address. A response only counts as liveness
 *                   (Heartbeat, hb_* registers) once admitted here.
 *                                                      else UNTRUSTED_HEARTBEAT
 *
 * Packets injected by the controller through the pipeline (packet-out
 * without DIRECT) arrive on CPU_PORT and are checked like any other: the
 * controller sends heartbeats DIRECT, so it needs no CPU_PORT entries.
 * Plain packets (not p4cast, not heartbeats to us) are not checked here.
 */
#ifndef P4CAST_CONTROL_TRUST_P4
#define P4CAST_CONTROL_TRUST_P4

#ifdef P4CAST_TARGET_TNA
/* TNA: the ingress port as the parser sets it (p4/tna/parser.p4), so that
 * the lookups need no stage before them; same key name in P4Info. */
#define P4CAST_TRUST_PORT meta.arch.ingress_port
#else
#define P4CAST_TRUST_PORT meta.intrinsic.ingress_port
#endif

control NeighbourTrust(inout headers_t hdr, inout metadata_t meta) {

    /* A hit: the packet comes from a neighbour the controller installed. */
    action admit() {
    }

#ifdef P4CAST_TARGET_TNA
    /* TNA: the lookups run ahead of the decisions before them, so a miss
     * only records its drop reason; the TNA IpValidate applies it after
     * its own checks and the membership punts, in the v1model order
     * (p4/tna/validate.p4). */
    action drop_untrusted_tree() {
        meta.arch.untrusted = DROP_UNTRUSTED_TREE;
    }

    action drop_untrusted_overlay() {
        meta.arch.untrusted = DROP_UNTRUSTED_OVERLAY;
    }

    action drop_untrusted_heartbeat() {
        meta.arch.untrusted = DROP_UNTRUSTED_HEARTBEAT;
    }
#else
    action drop_untrusted_tree() {
        set_drop(meta.fwd, DROP_UNTRUSTED_TREE);
    }

    action drop_untrusted_overlay() {
        set_drop(meta.fwd, DROP_UNTRUSTED_OVERLAY);
    }

    action drop_untrusted_heartbeat() {
        set_drop(meta.fwd, DROP_UNTRUSTED_HEARTBEAT);
    }
#endif

    /* Tree parents: the session's tree copies arrive on this port
     * (controller: every tree member but the ingress router, one entry per
     * session; during a repair the new parent's entry is written before the
     * tree moves and the old one removed after). */
    table tree_parent_exact {
        key = {
            hdr.shim.session_id        : exact @name("session_id");
            P4CAST_TRUST_PORT           : exact @name("ingress_port");
        }
        actions = {
            admit;
            @defaultonly drop_untrusted_tree;
        }
        size = P4CAST_TREE_TRUST_SIZE;
        default_action = drop_untrusted_tree();
    }

    /* Overlay senders: the session's overlay copies, sent by its ingress
     * router (outer source address), enter this router on this port
     * (controller: every router after the ingress router on each overlay
     * path, active or standby). */
    table overlay_sender_exact {
        key = {
            hdr.shim.session_id         : exact @name("session_id");
            hdr.outer_ipv4.src_addr     : exact @name("sender_addr");
            P4CAST_TRUST_PORT           : exact @name("ingress_port");
        }
        actions = {
            admit;
            @defaultonly drop_untrusted_overlay;
        }
        size = P4CAST_OVERLAY_TRUST_SIZE;
        default_action = drop_untrusted_overlay();
    }

    /* Heartbeat neighbours: heartbeats addressed to this switch from this
     * address arrive on this port (controller: both ends of every watched
     * link -- the watcher admits the peer's responses, the peer admits the
     * watcher's requests). */
    table heartbeat_neighbor_exact {
        key = {
            P4CAST_TRUST_PORT           : exact @name("ingress_port");
            hdr.ipv4.src_addr           : exact @name("peer_addr");
        }
        actions = {
            admit;
            @defaultonly drop_untrusted_heartbeat;
        }
        size = P4CAST_HB_TRUST_SIZE;
        default_action = drop_untrusted_heartbeat();
    }

    apply {
        if (hdr.shim.isValid() && hdr.outer_ipv4.isValid()) {
            if (hdr.outer_ipv4.dst_addr[31:28] == 0xE) {
                tree_parent_exact.apply();
            } else {
                overlay_sender_exact.apply();
            }
#ifdef P4CAST_TARGET_TNA
        /* TNA: looked up before is_local is known; the verdict applies
         * only to a heartbeat addressed to this switch (validate.p4). */
        } else if (hdr.heartbeat.isValid() && hdr.ipv4.isValid()
                   && hdr.heartbeat.version == HB_VERSION) {
#else
        } else if (hdr.heartbeat.isValid() && hdr.ipv4.isValid() && meta.l3.is_local
                   && hdr.heartbeat.version == HB_VERSION) {
#endif
            heartbeat_neighbor_exact.apply();
        }
    }
}

#endif /* P4CAST_CONTROL_TRUST_P4 */
