#!/usr/bin/env python3
"""Unique-id node for the Maelstrom protocol (Gossip Glomers challenge 2), standard library only.

An id is the node's own id and a counter of this node: unique across nodes without talking to them, so
partitions cannot make it repeat one.
"""
import json
import sys


def main():
    node_id = None
    next_msg_id = 1
    counter = 0
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        body = request["body"]
        kind = body["type"]
        if kind == "init":
            node_id = body["node_id"]
            reply = {"type": "init_ok"}
        elif kind == "generate":
            counter += 1
            reply = {"type": "generate_ok", "id": f"{node_id}-{counter}"}
        else:
            reply = {"type": "error", "code": 10, "text": f"unsupported type {kind}"}
        reply["msg_id"] = next_msg_id
        next_msg_id += 1
        reply["in_reply_to"] = body.get("msg_id")
        out.write(json.dumps({"src": node_id, "dest": request["src"], "body": reply}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
