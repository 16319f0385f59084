#!/usr/bin/env python3
"""Broadcast node for the Maelstrom protocol (Gossip Glomers challenge 3), standard library only.

Every node keeps the set of messages it has seen. Messages travel over a star: the first node of
node_ids is the hub, every other node talks only to the hub (the topology the workload suggests is
acknowledged but not used: a star reaches every node in two hops, which keeps latency low and the
message count small).

Gossip is batched and retried: every GOSSIP_INTERVAL each node sends each neighbour, in one message,
every message that neighbour has not yet acknowledged. A neighbour answers gossip_ok naming what it got.
A message lost to a partition is simply sent again at the next tick, so everything arrives once the
network heals.
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
        self.neighbours = []
        self.next_msg_id = 1
        self.seen = set()
        # For each neighbour: the messages it has not acknowledged yet.
        self.unacked = {}

    def send(self, dest, body):
        body["msg_id"] = self.next_msg_id
        self.next_msg_id += 1
        line = json.dumps({"src": self.node_id, "dest": dest, "body": body}, separators=(",", ":"))
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def reply(self, request, body):
        body["in_reply_to"] = request["body"].get("msg_id")
        self.send(request["src"], body)

    def learn(self, messages, source=None):
        """Records messages; each new one is queued for every neighbour but the one it came from."""
        for message in messages:
            if message in self.seen:
                continue
            self.seen.add(message)
            for neighbour in self.neighbours:
                if neighbour != source:
                    self.unacked[neighbour].add(message)

    def handle(self, request):
        body = request["body"]
        kind = body["type"]
        if kind == "init":
            self.node_id = body["node_id"]
            hub, others = body["node_ids"][0], body["node_ids"][1:]
            self.neighbours = others if self.node_id == hub else [hub]
            self.unacked = {neighbour: set() for neighbour in self.neighbours}
            print(f"node {self.node_id} initialised, neighbours {self.neighbours}", file=sys.stderr)
            self.reply(request, {"type": "init_ok"})
        elif kind == "topology":
            self.reply(request, {"type": "topology_ok"})
        elif kind == "broadcast":
            self.learn([body["message"]])
            self.reply(request, {"type": "broadcast_ok"})
        elif kind == "read":
            self.reply(request, {"type": "read_ok", "messages": sorted(self.seen)})
        elif kind == "gossip":
            source = request["src"]
            messages = body["messages"]
            if source in self.unacked:
                # The sender has these: no need to send them back.
                self.unacked[source].difference_update(messages)
            self.learn(messages, source)
            self.reply(request, {"type": "gossip_ok", "messages": messages})
        elif kind == "gossip_ok":
            if request["src"] in self.unacked:
                self.unacked[request["src"]].difference_update(body["messages"])
        elif "msg_id" in body:
            self.reply(request, {"type": "error", "code": 10, "text": f"unsupported type {kind}"})

    def gossip(self):
        with self.lock:
            for neighbour, pending in self.unacked.items():
                if pending:
                    self.send(neighbour, {"type": "gossip", "messages": sorted(pending)})

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
