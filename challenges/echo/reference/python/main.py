#!/usr/bin/env python3
"""Echo node for the Maelstrom protocol (Gossip Glomers challenge 1), standard library only.

Reads one JSON message per line on stdin, answers init with init_ok and echo with echo_ok carrying the
same echo field. Logs go to stderr: stdout carries protocol messages only.
"""
import json
import sys


class Node:
    def __init__(self):
        self.node_id = None
        self.node_ids = []
        self.next_msg_id = 1
        self.handlers = {}

    def on(self, kind, handler):
        self.handlers[kind] = handler

    def send(self, dest, body):
        message = {"src": self.node_id, "dest": dest, "body": body}
        sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def reply(self, request, body):
        body = dict(body)
        body["msg_id"] = self.next_msg_id
        self.next_msg_id += 1
        body["in_reply_to"] = request["body"]["msg_id"]
        self.send(request["src"], body)

    def run(self):
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            kind = request["body"]["type"]
            if kind == "init":
                self.node_id = request["body"]["node_id"]
                self.node_ids = request["body"]["node_ids"]
                print(f"node {self.node_id} initialised", file=sys.stderr)
                self.reply(request, {"type": "init_ok"})
            elif kind in self.handlers:
                self.handlers[kind](request)
            else:
                self.reply(request, {"type": "error", "code": 10, "text": f"unsupported type {kind}"})


def main():
    node = Node()
    node.on("echo", lambda request: node.reply(request, {"type": "echo_ok", "echo": request["body"]["echo"]}))
    node.run()


if __name__ == "__main__":
    main()
