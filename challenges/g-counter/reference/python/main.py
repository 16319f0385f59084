#!/usr/bin/env python3
"""Grow-only counter node for the Maelstrom protocol (Gossip Glomers challenge 4), standard library only.

A state-based CRDT: each node keeps, for every node, the largest total it knows that node has added.
An add raises this node's own entry; a read answers the sum of all entries. Two such maps merge by
taking the larger value of each entry, so gossip may arrive late, twice or out of order.

Every GOSSIP_INTERVAL a node sends its whole map to each peer that has not acknowledged its current
sum (entries only grow, so a larger sum means newer knowledge). A gossip lost to a partition is sent
again at the next tick: once the network heals, every node converges on the same sum.
"""
import json
import sys
import threading
import time

GOSSIP_INTERVAL = 0.2  # seconds


class Node:
    def __init__(self):
        self.lock = threading.Lock()
        self.node_id = None
        self.peers = []
        self.next_msg_id = 1
        self.counts = {}
        # For each peer: the largest sum of ours it has acknowledged.
        self.acked = {}

    def send(self, dest, body):
        body["msg_id"] = self.next_msg_id
        self.next_msg_id += 1
        line = json.dumps({"src": self.node_id, "dest": dest, "body": body}, separators=(",", ":"))
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def reply(self, request, body):
        body["in_reply_to"] = request["body"].get("msg_id")
        self.send(request["src"], body)

    def total(self):
        return sum(self.counts.values())

    def handle(self, request):
        body = request["body"]
        kind = body["type"]
        if kind == "init":
            self.node_id = body["node_id"]
            self.peers = [node for node in body["node_ids"] if node != self.node_id]
            self.acked = {peer: 0 for peer in self.peers}
            print(f"node {self.node_id} initialised", file=sys.stderr)
            self.reply(request, {"type": "init_ok"})
        elif kind == "add":
            self.counts[self.node_id] = self.counts.get(self.node_id, 0) + body["delta"]
            self.reply(request, {"type": "add_ok"})
        elif kind == "read":
            self.reply(request, {"type": "read_ok", "value": self.total()})
        elif kind == "gossip":
            received = body["counts"]
            for node, count in received.items():
                self.counts[node] = max(self.counts.get(node, 0), count)
            self.reply(request, {"type": "gossip_ok", "sum": sum(received.values())})
        elif kind == "gossip_ok":
            peer = request["src"]
            if peer in self.acked:
                self.acked[peer] = max(self.acked[peer], body["sum"])
        elif "msg_id" in body:
            self.reply(request, {"type": "error", "code": 10, "text": f"unsupported type {kind}"})

    def gossip(self):
        with self.lock:
            total = self.total()
            for peer in self.peers:
                if self.acked[peer] < total:
                    self.send(peer, {"type": "gossip", "counts": dict(self.counts)})

    def gossip_forever(self):
        while True:
            time.sleep(GOSSIP_INTERVAL)
            self.gossip()

    def run(self):
        threading.Thread(target=self.gossip_forever, daemon=True).start()
        for line in sys.stdin:
            if line.strip():
                request = json.loads(line)
                with self.lock:
                    self.handle(request)


if __name__ == "__main__":
    Node().run()
