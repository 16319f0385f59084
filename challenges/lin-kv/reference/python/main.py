#!/usr/bin/env python3
"""Linearizable key-value node for the Maelstrom protocol (Maelstrom's lin-kv workload), standard library only.

One node, n0, is the leader: it alone holds the map and applies every request, one at a time, so the
order in which it applies them is a linearization. Every other node forwards each client request to n0
under a msg_id of its own, remembers which client request that msg_id stands for, and relays n0's reply
(with in_reply_to set back to the client's msg_id) when it comes.

No request is ever answered from a copy of the map, so a read can never be stale. The price: every
request on another node costs two extra messages and a round trip to n0, and nothing is served if n0
is down (fine for this challenge, which has no faults; a real system would elect a new leader).
"""
import json
import sys

LEADER = "n0"
KEY_DOES_NOT_EXIST = 20
PRECONDITION_FAILED = 22
NOT_SUPPORTED = 10


class Node:
    def __init__(self):
        self.node_id = None
        self.next_msg_id = 1
        # The map, only on the leader; keys as their JSON text, so any JSON key works.
        self.values = {}
        # On the others: our msg_id of a forwarded request -> (client, the client's msg_id).
        self.forwarded = {}

    def send(self, dest, body):
        body["msg_id"] = self.next_msg_id
        self.next_msg_id += 1
        line = json.dumps({"src": self.node_id, "dest": dest, "body": body}, separators=(",", ":"))
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def reply(self, request, body):
        body["in_reply_to"] = request["body"].get("msg_id")
        self.send(request["src"], body)

    def apply(self, body):
        """The reply body to a read, write or cas, applied to the map."""
        key = json.dumps(body["key"], sort_keys=True)
        kind = body["type"]
        if kind == "read":
            if key not in self.values:
                return {"type": "error", "code": KEY_DOES_NOT_EXIST, "text": f"no key {key}"}
            return {"type": "read_ok", "value": self.values[key]}
        if kind == "write":
            self.values[key] = body["value"]
            return {"type": "write_ok"}
        if key not in self.values:
            if body.get("create_if_not_exists"):
                self.values[key] = body["to"]
                return {"type": "cas_ok"}
            return {"type": "error", "code": KEY_DOES_NOT_EXIST, "text": f"no key {key}"}
        if self.values[key] != body["from"]:
            text = f"key {key} holds {self.values[key]}, not {body['from']}"
            return {"type": "error", "code": PRECONDITION_FAILED, "text": text}
        self.values[key] = body["to"]
        return {"type": "cas_ok"}

    def handle(self, message):
        body = message["body"]
        kind = body["type"]
        if kind == "init":
            self.node_id = body["node_id"]
            print(f"node {self.node_id} initialised", file=sys.stderr)
            self.reply(message, {"type": "init_ok"})
        elif "in_reply_to" in body:
            # The leader's reply to a request we forwarded: hand it to the client that asked.
            client = self.forwarded.pop(body["in_reply_to"], None)
            if client is None:
                return
            relayed = {field: value for field, value in body.items() if field not in ("msg_id", "in_reply_to")}
            relayed["in_reply_to"] = client[1]
            self.send(client[0], relayed)
        elif kind in ("read", "write", "cas"):
            if self.node_id == LEADER:
                self.reply(message, self.apply(body))
            else:
                forwarded = dict(body)
                msg_id = self.next_msg_id
                self.forwarded[msg_id] = (message["src"], body.get("msg_id"))
                self.send(LEADER, forwarded)
        elif "msg_id" in body:
            self.reply(message, {"type": "error", "code": NOT_SUPPORTED, "text": f"unsupported type {kind}"})

    def run(self):
        for line in sys.stdin:
            if line.strip():
                self.handle(json.loads(line))


if __name__ == "__main__":
    Node().run()
