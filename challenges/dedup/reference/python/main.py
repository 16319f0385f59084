#!/usr/bin/env python3
"""dedup reference (Python, stdlib only): print every group of regular files with identical content.

Files are narrowed down in stages, each cheaper than the next: equal size (a file of a unique size has
no twin and is never opened), then the first block, then a hash of the whole file, and finally a
byte-by-byte comparison, because a hash match alone is not proof. Small files (one block or less) are
grouped by their exact bytes straight away. Reads go through a fixed-size buffer, so memory does not
grow with file size; large files are hashed and compared on a few threads (hashlib and reads release
the GIL).
"""
import hashlib
import json
import os
import stat
import sys
from concurrent.futures import ThreadPoolExecutor

HEAD = 4096
BUFFER = 1 << 20
WORKERS = 4


def warn(message):
    print(message, file=sys.stderr)


def show(path):
    return json.dumps(path or ".", ensure_ascii=False)


def walk(root):
    """Yields (relative path, size) of every non-empty regular file, never following symbolic links.

    An explicit stack rather than recursion: folders may be nested thousands deep."""
    stack = [""]
    while stack:
        relative = stack.pop()
        try:
            with os.scandir(os.path.join(root, relative)) as entries:
                entries = list(entries)
        except OSError as error:
            warn(f"dedup: cannot read folder {show(relative)}: {error.strerror}")
            continue
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as error:
                warn(f"dedup: cannot inspect {show(path)}: {error.strerror}")
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append(path)
            elif stat.S_ISREG(info.st_mode) and info.st_size > 0:
                yield path, info.st_size


def read_head(root, path):
    """The first HEAD bytes of a file, or None (with a line on stderr) when it cannot be read."""
    try:
        with open(os.path.join(root, path), "rb") as f:
            return f.read(HEAD)
    except OSError as error:
        warn(f"dedup: cannot read {show(path)}: {error.strerror}")
        return None


def full_digest(root, path):
    hasher = hashlib.blake2b(digest_size=16)
    try:
        with open(os.path.join(root, path), "rb", buffering=0) as f:
            while block := f.read(BUFFER):
                hasher.update(block)
    except OSError as error:
        warn(f"dedup: cannot read {show(path)}: {error.strerror}")
        return None
    return hasher.digest()


class Unreadable(Exception):
    def __init__(self, path, error):
        super().__init__(path)
        self.path, self.error = path, error


def same_bytes(root, a, b):
    """Whether two files hold the same bytes; raises Unreadable naming the file that failed."""
    try:
        fa = open(os.path.join(root, a), "rb", buffering=0)
    except OSError as error:
        raise Unreadable(a, error)
    with fa:
        try:
            fb = open(os.path.join(root, b), "rb", buffering=0)
        except OSError as error:
            raise Unreadable(b, error)
        with fb:
            while True:
                try:
                    block_a = fa.read(BUFFER)
                except OSError as error:
                    raise Unreadable(a, error)
                try:
                    block_b = fb.read(BUFFER)
                except OSError as error:
                    raise Unreadable(b, error)
                if block_a != block_b:
                    return False
                if not block_a:
                    return True


def compare(root, a, b):
    """True or False, or the path of whichever file could not be read (after a line on stderr)."""
    try:
        return same_bytes(root, a, b)
    except Unreadable as failure:
        warn(f"dedup: cannot read {show(failure.path)}: {failure.error.strerror}")
        return failure.path


def confirm(root, candidates):
    """Splits a set of probably-equal files into classes of byte-identical files (two or more each)."""
    classes = []
    for path in candidates:
        home, dropped = None, False
        for members in classes:
            while members:
                result = compare(root, members[0], path)
                if result is True:
                    home = members
                elif result == path:
                    dropped = True
                elif result is not False:
                    members.pop(0)  # the representative became unreadable: the next member stands in
                    continue
                break
            if home is not None or dropped:
                break
        if home is not None:
            home.append(path)
        elif not dropped:
            classes.append([path])
    return [c for c in classes if len(c) > 1]


def split(keyed_paths):
    """Groups (key, path) pairs by key, dropping None keys and groups of one."""
    groups = {}
    for key, path in keyed_paths:
        if key is not None:
            groups.setdefault(key, []).append(path)
    return [g for g in groups.values() if len(g) > 1]


def find_duplicates(root):
    by_size = {}
    for path, size in walk(root):
        by_size.setdefault(size, []).append(path)

    groups = []
    large = []  # candidate sets of files longer than one block, equal in size and first block
    for size, paths in by_size.items():
        if len(paths) < 2:
            continue
        if size <= HEAD:
            # The first block is the whole file: group by the exact bytes, which is proof.
            groups.extend(split((read_head(root, p), p) for p in paths))
        else:
            large.extend(split((read_head(root, p), p) for p in paths))

    with ThreadPoolExecutor(WORKERS) as pool:
        pairs = [c for c in large if len(c) == 2]  # comparing two files reads them once
        bigger = [c for c in large if len(c) > 2]
        digests = pool.map(lambda p: full_digest(root, p), [p for c in bigger for p in c])
        hashed = []
        for candidates in bigger:
            hashed.extend(split(zip([next(digests) for _ in candidates], candidates)))
        for found in pool.map(lambda c: confirm(root, c), pairs + hashed):
            groups.extend(found)
    return sorted(sorted(g) for g in groups)


def main():
    if len(sys.argv) != 2:
        warn("usage: dedup <folder>")
        return 2
    root = sys.argv[1]
    if not os.path.isdir(root):
        warn(f"dedup: {root} is not a folder")
        return 2
    out = sys.stdout.buffer
    for group in find_duplicates(root):
        out.write(json.dumps(group, ensure_ascii=False).encode("utf-8") + b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
