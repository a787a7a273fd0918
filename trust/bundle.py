"""The evidence bundle container: an ASiC-E zip (ETSI EN 319 162-1) with Sceau's
journal evidence under ``META-INF/sceau/``. See docs/EVIDENCE.md for the layout.

:class:`BundleWriter` writes atomically (temporary file, fsync, rename).
:class:`BundleReader` opens untrusted zips defensively: the ``mimetype`` entry must
come first, stored and exact; names with ``..``, absolute paths, backslashes or
duplicates are refused; sizes and compression ratios are bounded. Reading never
writes anywhere; :meth:`BundleReader.extract_to` writes only inside its target.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from trust.errors import MalformedInputError

MIMETYPE = b"application/vnd.etsi.asic-e+zip"  # ETSI EN 319 162-1 §4.4.2
ASIC_MANIFEST = "META-INF/ASiCManifest001.xml"
SIGNATURE = "META-INF/signature001.p7s"
MANIFEST_JSON = "manifest.json"
SCEAU_DIR = "META-INF/sceau/"
ENTRIES = SCEAU_DIR + "entries.jsonl"
PROOFS = SCEAU_DIR + "proofs.json"
CHECKPOINT_NOTE = SCEAU_DIR + "checkpoint.note"
CHECKPOINT_TSR = SCEAU_DIR + "checkpoint.tsr"
RECEIPTS_DIR = SCEAU_DIR + "receipts/"
ANCHORS_DIR = SCEAU_DIR + "anchors/"
SEALS_DIR = SCEAU_DIR + "seals/"
SENDER_SEAL = SEALS_DIR + "sender.p7s"
DELIVERY = SCEAU_DIR + "delivery.json"

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on untrusted bundles; generous for 1 GB+ dossiers, hostile to bombs."""

    max_entries: int = 10_000
    max_total_size: int = 256 * 1024**3
    max_metadata_size: int = 64 * 1024 * 1024
    # Deflate cannot expand more than ~1032:1 (zlib tech notes); a larger declared
    # ratio is a lie about the size, the mark of a crafted bomb.
    max_ratio: int = 1_100


def check_entry_name(name: str) -> str:
    """Refuse names that could escape a folder or confuse a reader."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        raise MalformedInputError(f"bundle entry name {name!r} is not a safe relative path")
    if len(name) > 1024 or (len(name) > 1 and name[1] == ":"):
        raise MalformedInputError(f"bundle entry name {name!r} is not a safe relative path")
    parts = name.rstrip("/").split("/")
    if any(p in ("..", ".", "") for p in parts):
        raise MalformedInputError(f"bundle entry name {name!r} contains '..' or empty parts")
    return name


class BundleWriter:
    """Write a bundle: ``mimetype`` first and stored, then the other entries."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._target = Path(path)
        self._target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".bundle-", suffix=".tmp", dir=self._target.parent)
        self._tmp = Path(tmp)
        self._file = os.fdopen(fd, "w+b")
        self._zip = zipfile.ZipFile(self._file, "w", allowZip64=True)
        self._names: set[str] = set()
        info = zipfile.ZipInfo("mimetype", date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        self._zip.writestr(info, MIMETYPE)

    def _info(self, name: str, *, compress: bool = True) -> zipfile.ZipInfo:
        check_entry_name(name)
        if name in self._names or name == "mimetype":
            raise MalformedInputError(f"bundle entry {name!r} written twice")
        self._names.add(name)
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info

    def add_bytes(self, name: str, data: bytes) -> None:
        self._zip.writestr(self._info(name), data)

    def add_stream(self, name: str, stream: BinaryIO, *, compress: bool = True) -> None:
        """Copy ``stream`` in chunks; ``compress=False`` stores it as is (fast for
        attachments, which are mostly PDFs and images that deflate cannot shrink)."""
        with self._zip.open(self._info(name, compress=compress), "w", force_zip64=True) as out:
            shutil.copyfileobj(stream, out, CHUNK)

    def add_file(self, name: str, path: str | os.PathLike[str], *, compress: bool = True) -> None:
        with open(path, "rb") as stream:
            self.add_stream(name, stream, compress=compress)

    def close(self) -> Path:
        """Finish the zip, fsync it, and move it into place."""
        self._zip.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self._target)
        dir_fd = os.open(self._target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return self._target

    def abort(self) -> None:
        with suppress(OSError, ValueError):
            self._zip.close()
        self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    ValueError,
    OSError,
    RuntimeError,
    KeyError,
    OverflowError,
)


class BundleReader:
    """A validated view of an untrusted bundle. Use as a context manager."""

    def __init__(self, path: str | os.PathLike[str], *, limits: ReadLimits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or ReadLimits()
        try:
            self._zip = zipfile.ZipFile(self.path, "r")
        except FileNotFoundError:
            raise MalformedInputError(
                f"{self.path} does not exist", hint="Check the path."
            ) from None
        except IsADirectoryError:
            raise MalformedInputError(f"{self.path} is a folder, not a bundle") from None
        except _ZIP_ERRORS as exc:
            raise MalformedInputError(
                f"{self.path} is not a readable zip (ASiC-E) file: {exc}"
            ) from exc
        try:
            self._infos = self._validate()
        except MalformedInputError:
            self._zip.close()
            raise

    def _validate(self) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if not infos:
            raise MalformedInputError("the bundle is an empty zip")
        if len(infos) > self.limits.max_entries:
            raise MalformedInputError(
                f"the bundle has {len(infos)} entries, more than {self.limits.max_entries}"
            )
        first = infos[0]
        if first.filename != "mimetype" or first.compress_type != zipfile.ZIP_STORED:
            raise MalformedInputError(
                "the first zip entry must be 'mimetype', stored uncompressed (ASiC-E)"
            )
        by_name: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = check_entry_name(info.filename)
            if name in by_name:
                raise MalformedInputError(f"the bundle holds {name!r} twice")
            if info.flag_bits & 0x1:
                raise MalformedInputError(f"{name!r} is encrypted; bundles are never encrypted")
            total += info.file_size
            if info.file_size > self.limits.max_total_size or total > self.limits.max_total_size:
                raise MalformedInputError(
                    f"the bundle declares {total} bytes of content, more than {self.limits.max_total_size}"
                )
            if info.file_size > CHUNK and info.file_size > self.limits.max_ratio * max(
                info.compress_size, 1
            ):
                raise MalformedInputError(
                    f"{name!r} declares a size its compressed data cannot hold (zip bomb?)"
                )
            by_name[name] = info
        if self.read("mimetype", max_size=len(MIMETYPE)) != MIMETYPE:
            raise MalformedInputError(f"the mimetype entry is not {MIMETYPE.decode()}")
        return by_name

    def names(self) -> list[str]:
        return [n for n in self._infos if not n.endswith("/")]

    def has(self, name: str) -> bool:
        return name in self._infos

    def size(self, name: str) -> int:
        return self._info(name).file_size

    def _info(self, name: str, *, compress: bool = True) -> zipfile.ZipInfo:
        info = self._infos.get(name) if hasattr(self, "_infos") else self._zip.getinfo(name)
        if info is None:
            raise MalformedInputError(f"the bundle has no {name!r}")
        return info

    @contextmanager
    def open(self, name: str) -> Iterator[BoundedReader]:
        """Stream an entry; reading past its declared size is an error."""
        info = self._info(name)
        try:
            with self._zip.open(info, "r") as raw:
                yield BoundedReader(raw, info.file_size, name)
        except MalformedInputError:
            raise
        except _ZIP_ERRORS as exc:
            raise MalformedInputError(f"entry {name!r} cannot be read: {exc}") from exc

    def read(self, name: str, *, max_size: int | None = None) -> bytes:
        limit = self.limits.max_metadata_size if max_size is None else max_size
        info = self._info(name)
        if info.file_size > limit:
            raise MalformedInputError(
                f"entry {name!r} is {info.file_size} bytes, more than {limit}"
            )
        with self.open(name) as stream:
            return stream.read()

    def iter_chunks(self, name: str) -> Iterator[bytes]:
        with self.open(name) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    def extract_to(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write every entry under ``folder`` (created), never outside it."""
        root = Path(folder).resolve()
        root.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for name in self.names():
            target = (root / name).resolve()
            if not target.is_relative_to(root):
                raise MalformedInputError(f"entry {name!r} would be written outside {root}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with self.open(name) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            written.append(target)
        return written

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class BoundedReader:
    """A reader that fails if an entry holds more bytes than its header declares."""

    def __init__(self, raw: IO[bytes], declared: int, name: str) -> None:
        self._raw = raw
        self._left = declared
        self._name = name

    def read(self, size: int = -1) -> bytes:
        want = self._left + 1 if size < 0 else min(size, self._left + 1)
        try:
            data = self._raw.read(want)
        except _ZIP_ERRORS as exc:
            raise MalformedInputError(f"entry {self._name!r} is damaged: {exc}") from exc
        self._left -= len(data)
        if self._left < 0:
            raise MalformedInputError(f"entry {self._name!r} holds more bytes than it declares")
        return data


def entry_names_under(names: Sequence[str], prefix: str) -> list[str]:
    return sorted(n for n in names if n.startswith(prefix) and not n.endswith("/"))
