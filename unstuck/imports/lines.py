"""Line fingerprints: a re-import copies only the lines that changed (PostgreSQL, COPY path).

fingerprint.py leaves alone the deals whose row and history did not change, but it finds
them in the database: both files are first copied whole and every cell hashed, which costs
more than a second plain COPY. This module finds the unchanged lines before anything is
copied. Each COPY import that stores fingerprints also keeps, for every data line of its
deals and history files, a 64-bit hash of the raw line and a hash of the deal id on it
(models.LineIndex, one per workspace and source). The next import hashes its files' lines
in Python and looks each one up:

- A line found in the index is a line the last import read, byte for byte, so its deal id
  is known without parsing it. A line not found is new or changed: its id is parsed (csv).
- A deal is *touched* when a line of its is new or changed, when a line of the last import
  with its id is gone (a deleted history line, a removed or changed row), when its id is on
  two deal lines, or when its fields no longer hash to what the import wrote (edited in the
  app, fingerprint.stored_state).
- Only the lines of touched deals are copied, every line of theirs in both files, each with
  its own line number (problem reports name the lines of the files); the fingerprint path
  then runs on them as it always did, and whatever it stages goes the loader's usual way.
  Reordered lines touch nothing: the loader orders history by time itself.

The index is used only where fingerprint.py would trust its fingerprints (same context
seed, the world as the last fingerprinting import left it) and that import reported no
problem (a problem names a line, which must be read again to be reported again), every
deal it fingerprinted is still there, and each file still has one line per record (a line
not in the index with an odd number of quotes starts a record that spans lines: the files
are then copied whole, as are files with blank lines). Unknown owners and rows marked
deleted are counted over all lines: the index keeps which lines had them.

The line hash is xxHash's XXH3, 64 bits (~0.07 µs a line from Python, a twelfth of what
blake2b costs; CRC-32 beside Adler-32 cost 0.4 µs and Adler-32 spreads short lines over few
of its bits): a changed line is taken for an unchanged one only if its hash equals one of the
last import's six million, about one chance in 3 * 10^12 per changed line. A mismatch of the
id hashes only copies more.
"""

from __future__ import annotations

import csv
import json
import operator
import re
import secrets
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import transaction
from xxhash import xxh3_64_intdigest

from unstuck.imports import fingerprint, staging
from unstuck.imports.parsing import FIELD_LIMIT, SniffedFile

if TYPE_CHECKING:
    from unstuck.imports.copy_stage import CopySource
    from unstuck.imports.loader import Loader

Hashes = npt.NDArray[np.uint64]
BLOCK = 1 << 22
# Bump when what a line index holds changes: an index of another format is not used.
FORMAT = 2
WS = b" \t\r\n"  # what the loader trims from an id (copy_stage.WS)


def _hashes(lines: list[bytes]) -> Hashes:
    out: Hashes = np.fromiter(map(xxh3_64_intdigest, lines), dtype=np.uint64, count=len(lines))
    return out


def _lookup(stored: Hashes, h: Hashes) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Where each of h is in the sorted stored hashes, and whether it is there. The needles
    go in sorted (each search starts where the last ended: ten times faster)."""
    if not len(stored):
        return np.zeros(len(h), dtype=np.intp), np.zeros(len(h), dtype=np.bool_)
    order = np.argsort(h)
    pos = np.empty(len(h), dtype=np.intp)
    pos[order] = np.searchsorted(stored, h[order])
    np.minimum(pos, len(stored) - 1, out=pos)
    return pos, stored[pos] == h


def _merge(stored_h: Hashes, stored_e: Hashes, h: Hashes, e: Hashes) -> tuple[Hashes, Hashes]:
    """The sorted stored entries with (h, e) added, in one pass (no sort of the whole)."""
    order = np.argsort(h)
    at = np.searchsorted(stored_h, h[order])
    return np.insert(stored_h, at, h[order]), np.insert(stored_e, at, e[order])


def index_file(workspace_id: int, source: str, token: str) -> Path:
    name = re.sub(r"[^a-z0-9]+", "_", source.lower())
    return Path(settings.DATA_DIR) / "imports" / "lines" / f"{workspace_id}-{name}-{token}.npz"


def orphaned_files(grace: float) -> list[Path]:
    """Line index files no LineIndex row names (their workspace deleted, or left by an import
    that did not commit and no later import of that source came to remove them), modified
    more than grace seconds ago: an import writes its file before its row commits."""
    from unstuck.imports.models import LineIndex

    folder = Path(settings.DATA_DIR) / "imports" / "lines"
    if not folder.is_dir():
        return []
    kept = {
        index_file(ws, source, token).name
        for ws, source, token in LineIndex.objects.values_list("workspace_id", "source", "token")
    }
    cutoff = time.time() - grace
    return sorted(
        p
        for p in folder.glob("*.npz")
        if p.name not in kept and p.is_file() and p.stat().st_mtime < cutoff
    )


def id_hash(external_id: str) -> int:
    """The hash of a deal id as stored (what a line's id hashes to once read and trimmed):
    32 bits, as two ids that collide only cost the copy of the other deal's lines."""
    return zlib.crc32(external_id.encode())


def _id_hashes(ids: list[bytes]) -> Hashes:
    return np.fromiter(map(zlib.crc32, ids), dtype=np.uint64, count=len(ids))


class _Ids:
    """The id cell of a raw line, read as the COPY path reads it (unquoted, trimmed)."""

    def __init__(self, f: SniffedFile, header: str) -> None:
        self.k = f.headers.index(header)
        self.delim, self.text_delim = f.delimiter.encode(), f.delimiter
        self.encoding = f.encoding

    def of(self, line: bytes) -> bytes:
        k = self.k
        parts = line.split(self.delim, k + 1)
        if len(parts) > k:
            cell = parts[k]
            prefix = len(line) - len(parts[-1]) - 1 if len(parts) == k + 2 else len(line)
            if line.find(b'"', 0, prefix) < 0 and cell.isascii():
                return cell.strip(WS)
        text = line.decode(self.encoding, errors="replace")
        row = next(csv.reader([text], delimiter=self.text_delim), [])
        return row[k].strip(" \t\r\n").encode() if len(row) > k else b""

    def hash(self, line: bytes) -> int:
        return zlib.crc32(self.of(line))

    def hashes(self, lines: list[bytes], plain: bool = False) -> Hashes:
        """plain: the lines hold no quote and only ASCII (each id is its cell, trimmed)."""
        if plain:
            split = operator.methodcaller("split", self.delim, self.k + 1)
            try:
                cells = list(map(operator.itemgetter(self.k), map(split, lines)))
            except IndexError:  # a short row: read one by one
                pass
            else:
                return _id_hashes(list(map(operator.methodcaller("strip", WS), cells)))
        h = self.hash
        return np.fromiter((h(x) for x in lines), dtype=np.uint64, count=len(lines))


class Streamed:
    """The line and id hashes of a file's data lines, taken while COPY streams it whole
    (feed each block as sent), for the index this import leaves."""

    def __init__(self, f: SniffedFile, id_header: str) -> None:
        self.ids = _Ids(f, id_header)
        self.carry = b""
        self.header = True  # the first line is the header
        self.h: list[Hashes] = []
        self.e: list[Hashes] = []

    def feed(self, block: bytes) -> None:
        data = self.carry + block
        lines = data.split(b"\n")
        self.carry = lines.pop()
        if self.header and lines:
            lines, self.header = lines[1:], False
        self._add(lines, data.isascii() and b'"' not in data)

    def _add(self, lines: list[bytes], plain: bool = False) -> None:
        self.h.append(_hashes(lines))
        self.e.append(self.ids.hashes(lines, plain))

    def finish(self) -> tuple[Hashes, Hashes]:
        if self.carry and not self.header:
            self._add([self.carry])
        self.carry = b""
        empty = np.zeros(0, dtype=np.uint64)
        return np.concatenate([empty, *self.h]), np.concatenate([empty, *self.e])


@dataclass
class Pending:
    """The index this import leaves, completed as it goes: the hashes of every data line and
    its id (index i: line i + 2 of the file), and which deal lines had an unknown owner
    (line hash: the owner cell) or were marked deleted."""

    deal_h: Hashes | None = None
    deal_e: Hashes | None = None
    hist_h: Hashes | None = None
    hist_e: Hashes | None = None
    owners: dict[int, str] = field(default_factory=dict)
    dropped: set[int] = field(default_factory=set)
    # Already sorted by hash (a re-import: the last index, less what is gone, plus what is new).
    sorted_deal: tuple[Hashes, Hashes] | None = None
    sorted_hist: tuple[Hashes, Hashes] | None = None

    def add_owner_lines(self, rows: Iterable[tuple[int, str]]) -> None:
        """(line number, owner cell) of deal lines read whose owner is no member."""
        assert self.deal_h is not None
        for line, raw in rows:
            self.owners[int(self.deal_h[line - 2])] = raw

    def add_dropped_lines(self, lines: Iterable[int]) -> None:
        assert self.deal_h is not None
        for line in lines:
            self.dropped.add(int(self.deal_h[line - 2]))


@dataclass
class Selection:
    """What a re-import copies: the lines of the deals it touches, by line number, and what
    the lines it does not copy count for."""

    deals: list[tuple[int, bytes]]
    history: list[tuple[int, bytes]] | None
    deal_lines: int  # data lines in the deals file, copied or not
    history_lines: int
    clean_deals: int  # deal lines not copied and not marked deleted: deals left as they are
    clean_owners: Counter[str]  # unknown owners on the lines not copied: cell → lines
    pending: Pending
    headers: tuple[bytes, bytes]
    touched: int = 0


@dataclass
class _Scan:
    hashes: Hashes  # each data line's hash, in file order (index i: line i + 2)
    ids: Hashes  # its id's hash (0 until read, for lines not in the index)
    offsets: npt.NDArray[np.int64]  # where it starts in the file
    new: dict[int, bytes]  # lines not in the index, by index
    hit: npt.NDArray[np.bool_]  # which of the index's lines were seen
    header: bytes


def _scan(f: SniffedFile, stored_h: Hashes, stored_e: Hashes) -> _Scan:
    """Hash every data line of the file and look each up in the last import's lines (sorted
    stored_h, with stored_e the id hash of each)."""
    hit = np.zeros(len(stored_h), dtype=np.bool_)
    h_parts, e_parts, o_parts = [], [], []
    new: dict[int, bytes] = {}
    header = b""
    carry = b""
    offset = 0  # file offset of the next block
    n = 0  # data lines so far
    first = True
    with f.path.open("rb") as fh:
        while True:
            block = fh.read(BLOCK)
            data = carry + block if block else carry
            base = offset - len(carry)
            offset += len(block)
            lines = data.split(b"\n")
            carry = lines.pop() if block else b""
            if not block and lines == [b""]:
                break
            lens = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)) + 1
            starts = base + np.concatenate(([0], np.cumsum(lens)[:-1]))
            if first and lines:
                header, lines, starts, first = lines[0], lines[1:], starts[1:], False
            if lines:
                h = _hashes(lines)
                pos, found = _lookup(stored_h, h)
                hit[pos[found]] = True
                e = np.where(found, stored_e[pos] if len(stored_e) else 0, 0).astype(np.uint64)
                for i in np.flatnonzero(~found):
                    new[n + int(i)] = lines[i]
                h_parts.append(h)
                e_parts.append(e)
                o_parts.append(starts)
                n += len(lines)
            if not block:
                break
    empty = np.zeros(0, dtype=np.uint64)
    return _Scan(
        hashes=np.concatenate([empty, *h_parts]),
        ids=np.concatenate([empty, *e_parts]),
        offsets=np.concatenate([np.zeros(0, dtype=np.int64), *o_parts]),
        new=new,
        hit=hit,
        header=header.removeprefix(b"\xef\xbb\xbf"),
    )


def _read_new_ids(scan: _Scan, ids: _Ids) -> bool:
    """Read the id of each line not in the index; False if a line is blank, starts a record
    that spans lines, or is longer than the row path reads (the files are then copied
    whole, and COPY hands them to the row path where it would)."""
    for i, line in scan.new.items():
        if not line.strip(b"\r") or line.count(b'"') % 2 or len(line) > FIELD_LIMIT:
            return False
        scan.ids[i] = ids.hash(line)
    return True


def _pick(f: SniffedFile, scan: _Scan, want: npt.NDArray[np.bool_]) -> list[tuple[int, bytes]]:
    """The wanted lines as (line number, bytes without the line break)."""
    out = []
    with f.path.open("rb") as fh:
        for i in np.flatnonzero(want).tolist():
            line = scan.new.get(i)
            if line is None:
                fh.seek(int(scan.offsets[i]))
                line = fh.readline().removesuffix(b"\n")
            out.append((i + 2, line))
    return out


def _among(values: Hashes, few: Hashes) -> npt.NDArray[np.bool_]:
    """Which of values are in few (small): a binary search each in the sorted few, which
    np.isin would instead sort together with the millions."""
    few = np.unique(few)
    if not len(few):
        return np.zeros(len(values), dtype=np.bool_)
    pos = np.minimum(np.searchsorted(few, values), len(few) - 1)
    found: npt.NDArray[np.bool_] = few[pos] == values
    return found


def _duplicates(values: Hashes) -> Hashes:
    s: Hashes = np.sort(values)
    twice: Hashes = s[1:][s[1:] == s[:-1]]
    return twice


def _unpack(path: Path) -> dict[str, Any]:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["owner_cells"] = json.loads(bytes(arrays.pop("owner_json")).decode())
    return arrays


def select(loader: Loader, src: CopySource, facts: dict[str, Any]) -> Selection | None:
    """The lines to copy, or None when the files are to be copied whole (no usable index)."""
    from unstuck.imports.models import LineIndex

    ws, source = loader.workspace.pk, facts["source"]
    _, stored, summary = fingerprint._reference(ws, source)
    token = stored.get("lines")
    if not token or stored.get("seed") != facts["seed"]:
        return None
    if summary.get("errors") or summary.get("warnings"):
        return None
    path = index_file(ws, source, token)
    if not LineIndex.objects.filter(workspace_id=ws, source=source, token=token).exists():
        return None
    if not path.exists() or stored.get("world") != fingerprint.world(ws, source):
        return None
    index = _unpack(path)
    if int(index.get("format", [0])[0]) != FORMAT:
        return None
    m = src.mapping
    scans: dict[str, _Scan] = {}
    failed: list[BaseException] = []

    def scan() -> None:
        # Python only (no database): beside the query below, which releases the GIL while
        # the database scans the deals.
        try:
            with staging.timed("line hashes of the deals"):
                scans["deals"] = _scan(src.deals, index["deal_h"], index["deal_e"])
            if src.history is not None:
                with staging.timed("line hashes of the history"):
                    scans["hist"] = _scan(src.history, index["hist_h"], index["hist_e"])
        except BaseException as exc:  # raised again below
            failed.append(exc)

    hashing = threading.Thread(target=scan, name="import-line-hashes", daemon=True)
    hashing.start()
    try:
        with staging.timed("deals edited since"):
            count, edited = staging.fetchall(
                "SELECT COUNT(*), COALESCE(array_agg(d.external_id) FILTER (WHERE "
                f"d.import_state IS DISTINCT FROM {fingerprint.stored_state('d')}), '{{}}') "
                "FROM deals_deal d WHERE d.workspace_id = %s AND d.source = %s "
                "AND d.import_hash IS NOT NULL",
                [ws, source],
            )[0]
    finally:
        hashing.join()
    if failed:
        raise failed[0]
    if count != stored.get("deals"):
        return None  # deals it fingerprinted were deleted, or imported by another path since
    deals, hist = scans["deals"], scans.get("hist")
    if not _read_new_ids(deals, _Ids(src.deals, m.columns["external_id"])):
        return None
    if src.history is not None:
        assert hist is not None
        if not _read_new_ids(hist, _Ids(src.history, m.history["deal"])):
            return None
    touched_parts = [
        deals.ids[list(deals.new)] if deals.new else np.zeros(0, dtype=np.uint64),
        index["deal_e"][~deals.hit],
        _duplicates(deals.ids),
        np.array([id_hash(e) for e in edited], dtype=np.uint64),
    ]
    if hist is not None:
        touched_parts.append(hist.ids[list(hist.new)] if hist.new else np.zeros(0, np.uint64))
        touched_parts.append(index["hist_e"][~hist.hit])
        # A history line now twice needs nothing: the loader would skip the second copy as
        # a step already stored. A line that was there twice and is now once left a copy
        # of it in the index unseen (touched above).
    touched = np.unique(np.concatenate(touched_parts).astype(np.uint64))
    want_d = _among(deals.ids, touched)
    clean = deals.hashes[~want_d]
    dropped = index["dropped"]
    clean_dropped = int(_among(clean, dropped).sum()) if len(dropped) else 0
    owner_h, owner_i = index["owner_h"], index["owner_i"]
    clean_owners: Counter[str] = Counter()
    carried: dict[int, str] = {}
    if len(owner_h):
        pos = np.minimum(np.searchsorted(owner_h, clean), len(owner_h) - 1)
        found = owner_h[pos] == clean
        cells = index["owner_cells"]
        for i, n in zip(*np.unique(owner_i[pos[found]], return_counts=True), strict=True):
            clean_owners[cells[int(i)]] += int(n)
        for h, i in zip(clean[found].tolist(), owner_i[pos[found]].tolist(), strict=True):
            carried[h] = cells[i]

    def leaves(scan: _Scan, name: str) -> tuple[Hashes, Hashes]:
        new = np.array(sorted(scan.new), dtype=np.intp)
        kept_h, kept_e = index[f"{name}_h"][scan.hit], index[f"{name}_e"][scan.hit]
        return _merge(kept_h, kept_e, scan.hashes[new], scan.ids[new])

    pending = Pending(
        sorted_deal=leaves(deals, "deal"),
        sorted_hist=leaves(hist, "hist") if hist is not None else None,
        deal_h=deals.hashes,
        deal_e=deals.ids,
        hist_h=hist.hashes if hist is not None else None,
        hist_e=hist.ids if hist is not None else None,
        owners=carried,
        dropped=set(clean[_among(clean, dropped)].tolist()) if clean_dropped else set(),
    )
    with staging.timed("picking the touched lines"):
        chosen_d = _pick(src.deals, deals, want_d)
        chosen_h = (
            _pick(src.history, hist, _among(hist.ids, touched))
            if hist is not None and src.history is not None
            else None
        )
    return Selection(
        deals=chosen_d,
        history=chosen_h,
        deal_lines=len(deals.hashes),
        history_lines=len(hist.hashes) if hist is not None else 0,
        clean_deals=len(clean) - clean_dropped,
        clean_owners=clean_owners,
        pending=pending,
        headers=(deals.header, hist.header if hist is not None else b""),
        touched=len(touched),
    )


def store(loader: Loader, pending: Pending) -> None:
    """Keep this import's lines for the next one: the hashes to a new file, named in the
    import's transaction (and in its run's summary, fingerprints["lines"]); the file it
    replaces is removed once that commits, and files of imports that did not commit with
    the next one."""
    from unstuck.imports.models import LineIndex

    if pending.deal_h is None or pending.deal_e is None:
        return
    owners = pending.owners
    empty = np.zeros(0, dtype=np.uint64)

    def by_hash(name: str) -> tuple[Hashes, npt.NDArray[np.uint32]]:
        """The lines' hashes sorted, and their ids' (32 bits) in the same order; what is
        sorted is let go as it goes (a million deals' history holds 80 MB)."""
        done = getattr(pending, f"sorted_{name}")
        if done is None:
            h, e = getattr(pending, f"{name}_h"), getattr(pending, f"{name}_e")
            if h is None or e is None:
                h, e = empty, empty
            setattr(pending, f"{name}_h", None)
            setattr(pending, f"{name}_e", None)
            order = np.argsort(h)
            done = (h[order], e[order])
            del h, e, order
        setattr(pending, f"sorted_{name}", None)
        return done[0], done[1].astype(np.uint32)

    deal = by_hash("deal")
    hist = by_hash("hist")
    cells = sorted(set(owners.values()))
    number = {c: i for i, c in enumerate(cells)}
    owner_h = np.array(list(owners), dtype=np.uint64)
    owner_i = np.array([number[c] for c in owners.values()], dtype=np.uint32)
    order = np.argsort(owner_h)
    ws, source = loader.workspace.pk, loader.result.fingerprints["source"]
    token = secrets.token_hex(16)
    path = index_file(ws, source, token)
    path.parent.mkdir(parents=True, exist_ok=True)
    with staging.timed("storing the line index"):
        with path.open("wb") as fh:
            np.savez(
                fh,
                deal_h=deal[0],
                deal_e=deal[1],
                hist_h=hist[0],
                hist_e=hist[1],
                owner_h=owner_h[order],
                owner_i=owner_i[order],
                owner_json=np.frombuffer(json.dumps(cells).encode(), dtype=np.uint8),
                dropped=np.array(sorted(pending.dropped), dtype=np.uint64),
                format=np.array([FORMAT]),
            )
        before = (
            LineIndex.objects.filter(workspace_id=ws, source=source)
            .values_list("token", flat=True)
            .first()
        )
        LineIndex.objects.update_or_create(
            workspace_id=ws, source=source, defaults={"token": token}
        )
    keep = {path.name} | ({index_file(ws, source, before).name} if before else set())
    for old in path.parent.glob(index_file(ws, source, "*").name):
        if old.name not in keep:  # left by an import that did not commit
            old.unlink(missing_ok=True)
    if before:
        replaced = index_file(ws, source, before)
        transaction.on_commit(lambda: replaced.unlink(missing_ok=True))
    loader.result.fingerprints["lines"] = token
