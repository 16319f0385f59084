#!/usr/bin/env python3
"""Bank node for takehome's `bank` challenge (Maelstrom protocol), standard library only.

One thread reads stdin and hands each request to a pool of worker threads, so many requests are served at
once. Every reply is one whole line, written and flushed under `stdout_lock`, so two replies never mix.

Locks:
- Each account has its own lock. A transfer takes the locks of its two accounts in the order of their names,
  whatever the direction of the transfer, so two opposing transfers can never each hold the lock the other
  waits for (no deadlock). It holds both for `work_ms` while it applies the transfer.
- An audit needs every balance as of one instant. Rather than take all the account locks in order (a
  thousand acquisitions, each waiting behind a transfer's `work_ms`), the bank has one readers-writer lock:
  transfers hold it shared (they still run side by side), an audit holds it exclusively, so it sums the
  balances when no transfer is half-applied. Waiting audits stop new transfers from starting, so a steady
  stream of transfers cannot starve them.
- A balance holds only its account's lock: one account is always consistent on its own.

The GIL: CPython runs Python code on one thread at a time, so these threads are concurrent, not parallel.
They overlap only while they wait: in `time.sleep` (the `work_ms` of a transfer), on a lock, or on I/O, all
of which release the interpreter lock. Since `work_ms` is a sleep, transfers on different accounts do hold
their locks at the same time and throughput grows with the requests in flight, until the Python work around
each sleep (parsing the JSON, handing the request to a worker, waking it, writing the reply: 60 to 90 us of
interpreter time per request) fills the one core the interpreter can use. Measured through takehome on a
2-core machine: about 750, 2,800 and 9,400 transfers a second at 1, 4 and 16 in flight, then a plateau near
12,000 at 64, where the node uses a whole core and the Rust reference does 30,000 or more. Every correctness
stage passes; `scaling-64` misses its figure because the per-request work is serialised by the GIL. More
threads or cores do not help; less Python work per request, or a process per core, would.
"""
import itertools
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

# More than the requests takehome keeps in flight: a worker blocked on a lock must not delay requests that
# could run.
WORKERS = 128

# Maelstrom error codes.
NOT_SUPPORTED = 10
MALFORMED_REQUEST = 12
KEY_DOES_NOT_EXIST = 20
KEY_ALREADY_EXISTS = 21
PRECONDITION_FAILED = 22


class RequestError(Exception):
    def __init__(self, code, text):
        super().__init__(text)
        self.code = code
        self.text = text


class ReadersWriterLock:
    """Many readers at once, or one writer; a waiting writer keeps new readers out."""

    def __init__(self):
        self.condition = threading.Condition(threading.Lock())
        self.readers = 0
        self.writer = False
        self.writers_waiting = 0

    def acquire_shared(self):
        with self.condition:
            while self.writer or self.writers_waiting:
                self.condition.wait()
            self.readers += 1

    def release_shared(self):
        with self.condition:
            self.readers -= 1
            if self.readers == 0 and self.writers_waiting:
                self.condition.notify_all()

    def acquire_exclusive(self):
        with self.condition:
            self.writers_waiting += 1
            while self.writer or self.readers:
                self.condition.wait()
            self.writers_waiting -= 1
            self.writer = True

    def release_exclusive(self):
        with self.condition:
            self.writer = False
            self.condition.notify_all()


class Account:
    __slots__ = ("name", "balance", "lock")

    def __init__(self, name, balance):
        self.name = name
        self.balance = balance
        self.lock = threading.Lock()


def integer(body, field, at_least):
    value = body.get(field)
    # bool is an int in Python, but `true` is not a number of coins.
    if not isinstance(value, int) or isinstance(value, bool) or value < at_least:
        raise RequestError(MALFORMED_REQUEST, f"`{field}` must be an integer of at least {at_least}, not {value!r}")
    return value


def text(body, field):
    value = body.get(field)
    if not isinstance(value, str):
        raise RequestError(MALFORMED_REQUEST, f"`{field}` must be a string, not {value!r}")
    return value


class Bank:
    def __init__(self):
        self.accounts = {}
        # Held while an account is added, so two opens of one name cannot both succeed.
        self.opening = threading.Lock()
        self.snapshot = ReadersWriterLock()

    def account(self, name):
        account = self.accounts.get(name)
        if account is None:
            raise RequestError(KEY_DOES_NOT_EXIST, f"no account {name}")
        return account

    def open(self, body):
        name, balance = text(body, "account"), integer(body, "balance", 0)
        with self.opening:
            if name in self.accounts:
                raise RequestError(KEY_ALREADY_EXISTS, f"account {name} exists already")
            self.accounts[name] = Account(name, balance)
        return {"type": "open_ok"}

    def transfer(self, body):
        source, target = self.account(text(body, "from")), self.account(text(body, "to"))
        amount = integer(body, "amount", 1)
        work_ms = integer(body, "work_ms", 0) if "work_ms" in body else 0
        if source is target:
            raise RequestError(MALFORMED_REQUEST, f"a transfer from {source.name} to itself")
        first, second = sorted((source, target), key=lambda account: account.name)
        self.snapshot.acquire_shared()
        try:
            with first.lock, second.lock:
                if source.balance < amount:
                    short = f"{source.name} holds {source.balance}, cannot send {amount}"
                    raise RequestError(PRECONDITION_FAILED, short)
                time.sleep(work_ms / 1000)
                source.balance -= amount
                target.balance += amount
        finally:
            self.snapshot.release_shared()
        return {"type": "transfer_ok"}

    def balance(self, body):
        account = self.account(text(body, "account"))
        with account.lock:
            return {"type": "balance_ok", "balance": account.balance}

    def audit(self, _body):
        self.snapshot.acquire_exclusive()
        try:
            total = sum(account.balance for account in list(self.accounts.values()))
        finally:
            self.snapshot.release_exclusive()
        return {"type": "audit_ok", "total": total}


class Node:
    def __init__(self):
        self.node_id = ""
        self.msg_ids = itertools.count(1)
        self.stdout_lock = threading.Lock()
        self.bank = Bank()
        self.handlers = {
            "open": self.bank.open,
            "transfer": self.bank.transfer,
            "balance": self.bank.balance,
            "audit": self.bank.audit,
        }

    def reply(self, request, body):
        body["in_reply_to"] = request["body"].get("msg_id")
        body["msg_id"] = next(self.msg_ids)  # one C call: atomic under the GIL
        line = json.dumps({"src": self.node_id, "dest": request.get("src"), "body": body}, separators=(",", ":"))
        with self.stdout_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def serve(self, request):
        body = request["body"]
        handler = self.handlers.get(body.get("type"))
        try:
            if handler is None:
                raise RequestError(NOT_SUPPORTED, f"unsupported request type {body.get('type')!r}")
            answer = handler(body)
        except RequestError as error:
            answer = {"type": "error", "code": error.code, "text": error.text}
        except Exception as error:  # a bug here must not kill the worker silently
            print(f"request {body!r} failed: {error!r}", file=sys.stderr)
            answer = {"type": "error", "code": 13, "text": f"internal error: {error}"}
        if "msg_id" in body:
            self.reply(request, answer)

    def run(self):
        with ThreadPoolExecutor(max_workers=WORKERS) as workers:
            for line in sys.stdin:
                if not line.strip():
                    continue
                try:
                    request = json.loads(line)
                    body = request["body"]
                    kind = body["type"]
                except (ValueError, KeyError, TypeError) as error:
                    print(f"ignoring a line that is not a message ({error}): {line.strip()[:200]}", file=sys.stderr)
                    continue
                if kind == "init":
                    # Answered here, before any later request is handed out, so every reply knows the node's id.
                    self.node_id = body.get("node_id", "")
                    print(f"node {self.node_id} initialised", file=sys.stderr)
                    self.reply(request, {"type": "init_ok"})
                else:
                    workers.submit(self.serve, request)


if __name__ == "__main__":
    Node().run()
