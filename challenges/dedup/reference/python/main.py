#!/usr/bin/env python3
"""dedup reference (Python, stdlib only): print every group of regular files with identical content.

Size grouping first (files of a unique size cannot have a twin), then a hash of the first block, then a
full hash, then a byte-by-byte comparison, because a hash match alone is not proof. Memory does not grow
with file size: files are read in fixed-size blocks. File I/O runs on a small thread pool.
"""
import hashlib
import json
import os
import stat
import sys
from concurrent.futures import ThreadPoolExecutor

BLOCK = 1 << 16
HEAD = 4096
WORKERS = 8


def warn(message):
    print(message, file=sys.stderr)


def walk(root):
    """Yields (relative path, size) of every regular file, never following symbolic links."""
    stack = [""]
    while stack:
        relative = stack.pop()
        folder = os.path.join(root, relative) if relative else root
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            warn(f"dedup: cannot read folder {relative or '.'!r}: {error.strerror}")
            continue
        for entry in entries:
            path = os.path.join(relative, entry.name) if relative else entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as error:
                warn(f"dedup: cannot stat {path!r}: {error.strerror}")
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append(path)
            elif stat.S_ISREG(info.st_mode) and info.st_size > 0:
                yield path, info.st_size


def digest(root, path, limit):
    """A BLAKE2b of the first `limit` bytes (or all, when limit is None); None when unreadable."""
    hasher = hashlib.blake2b(digest_size=16)
    remaining = limit
    try:
        with open(os.path.join(root, path), "rb") as f:
            while remaining is None or remaining > 0:
                block = f.read(BLOCK if remaining is None else min(BLOCK, remaining))
                if not block:
                    break
                hasher.update(block)
                if remaining is not None:
                    remaining -= len(block)
    except OSError as error:
        warn(f"dedup: cannot read {path!r}: {error.strerror}")
        return None
    return hasher.digest()


def same_bytes(root, a, b):
    try:
        with open(os.path.join(root, a), "rb") as fa, open(os.path.join(root, b), "rb") as fb:
            while True:
                block_a, block_b = fa.read(BLOCK), fb.read(BLOCK)
                if block_a != block_b:
                    return False
                if not block_a:
                    return True
    except OSError:
        return False


def refine(pool, root, groups, limit):
    """Splits each group by a digest of its files; drops unreadable files and groups of one."""
    refined = []
    for group in groups:
        keyed = {}
        for path, key in zip(group, pool.map(lambda p: digest(root, p, limit), group)):
            if key is not None:
                keyed.setdefault(key, []).append(path)
        refined.extend(g for g in keyed.values() if len(g) > 1)
    return refined


def confirm(root, group):
    """Splits a group of equal-hash files into classes of byte-identical files."""
    classes = []
    for path in group:
        for members in classes:
            if same_bytes(root, members[0], path):
                members.append(path)
                break
        else:
            classes.append([path])
    return [c for c in classes if len(c) > 1]


def main():
    if len(sys.argv) != 2:
        warn("usage: dedup <folder>")
        return 2
    root = sys.argv[1]
    by_size = {}
    for path, size in walk(root):
        by_size.setdefault(size, []).append(path)
    candidates = [g for g in by_size.values() if len(g) > 1]
    with ThreadPoolExecutor(WORKERS) as pool:
        candidates = refine(pool, root, candidates, HEAD)
        candidates = refine(pool, root, candidates, None)
        groups = [c for group in pool.map(lambda g: confirm(root, g), candidates) for c in group]
    out = sys.stdout
    for group in sorted(sorted(g) for g in groups):
        out.write(json.dumps(group, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
