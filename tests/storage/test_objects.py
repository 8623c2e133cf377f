"""Contract tests of storage.objects, run against FilesystemStore and MinioStore.

MinioStore talks S3 over HTTP through the real `minio` SDK to moto's in-process S3 server
(no MinIO server can be installed on the CI machines); docker-compose runs real MinIO.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import io
import logging
import socket
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from moto.server import ThreadedMotoServer

from storage import objects
from storage.keys import ObjectRole, company_prefix, object_key
from storage.objects import (
    MULTIPART_PART_SIZE,
    FilesystemStore,
    MinioStore,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    StoreUnavailable,
    content_disposition,
)

MiB = 1024 * 1024
BIG_SIZE = 25 * MiB
DOC_ID = uuid.UUID(int=0x0123456789ABCDEF0123456789ABCDEF, version=4).hex
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
URL_BASE = "http://papeleo.test"
SECRET = "not-a-real-secret"


class DeterministicStream(io.RawIOBase):
    """`size` bytes made on demand from a generator; never holds more than one 64 KiB block.

    Records the largest read request so a test can show the store read in bounded parts.
    """

    BLOCK = 64 * 1024

    def __init__(self, size: int) -> None:
        self._remaining = size
        self._blocks = self._generate()
        self._pending = b""
        self.largest_read = 0
        self.bytes_read = 0

    def _generate(self) -> Iterator[bytes]:
        index = 0
        while True:
            seed = hashlib.sha256(index.to_bytes(8, "big")).digest()
            yield seed * (self.BLOCK // len(seed))
            index += 1

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        self.largest_read = max(self.largest_read, len(view))
        filled = 0
        while filled < len(view) and self._remaining > 0:
            if not self._pending:
                self._pending = next(self._blocks)
            take = min(len(view) - filled, len(self._pending), self._remaining)
            view[filled : filled + take] = self._pending[:take]
            self._pending = self._pending[take:]
            self._remaining -= take
            filled += take
        self.bytes_read += filled
        return filled


class FailingStream(io.RawIOBase):
    """Gives `good` bytes, then fails like a dropped client connection."""

    def __init__(self, good: int, error: type[OSError] = OSError) -> None:
        self._inner = DeterministicStream(good)
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._inner.readinto(buffer)
        if count == 0:
            raise self._error("client went away")
        return count


def sha256_of_stream(stream: io.RawIOBase) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(MiB):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_of_file(path: Path) -> str:
    with path.open("rb") as source:
        return sha256_of_stream(source)  # type: ignore[arg-type]


def key_for(name: str, *, company: int = 1, role: ObjectRole = ObjectRole.ORIGINAL) -> str:
    return object_key(company, 2026, DOC_ID, role, name)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in a thread on a free local port."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture(params=["filesystem", "minio"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "filesystem":
        result: ObjectStore = FilesystemStore(
            tmp_path / "objects", url_base=URL_BASE, secret=SECRET
        )
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        # One bucket per test keeps tests independent on the shared server.
        result = MinioStore.from_endpoint(
            endpoint, "testing", "testing", f"papeleo-{uuid.uuid4().hex[:12]}", region="us-east-1"
        )
    result.ensure_ready()
    return result


@pytest.fixture
def fs_store(tmp_path: Path) -> FilesystemStore:
    result = FilesystemStore(tmp_path / "objects", url_base=URL_BASE, secret=SECRET)
    result.ensure_ready()
    return result


def download(store: ObjectStore, url: str) -> tuple[bytes, str | None]:
    """Fetch a download URL as a browser would: body and Content-Disposition."""
    if isinstance(store, MinioStore):
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read(), response.headers.get("Content-Disposition")
    # FilesystemStore URLs are served by the API: do what /v1/blobs will do.
    assert isinstance(store, FilesystemStore)
    parts = urlsplit(url)
    assert url.startswith(f"{URL_BASE}/v1/blobs/")
    key = unquote(parts.path.removeprefix("/v1/blobs/"))
    query = {
        name: values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()
    }
    name = query["name"] or None
    assert store.verify_download(key, int(query["expires"]), query["signature"], name)
    with store.open(key) as source:
        body = source.read()
    return body, content_disposition(name) if name else None


# --- the contract, run against both stores ---------------------------------------------------


def test_put_known_length_then_stat(store: ObjectStore) -> None:
    key = key_for("factura.pdf")
    before = datetime.now(UTC) - timedelta(seconds=5)
    info = store.put(key, io.BytesIO(PDF), length=len(PDF), content_type="application/pdf")

    assert info.key == key
    assert info.size == len(PDF)
    assert info.etag == hashlib.md5(PDF).hexdigest()
    assert info.content_type == "application/pdf"
    assert info.last_modified.tzinfo is not None
    assert info.last_modified.utcoffset() == timedelta(0)
    assert before <= info.last_modified <= datetime.now(UTC) + timedelta(seconds=5)
    assert store.stat(key) == info
    assert store.exists(key)


def test_put_unknown_length_streams_in_parts(store: ObjectStore, tmp_path: Path) -> None:
    key = key_for("extracto.pdf")
    stream = DeterministicStream(BIG_SIZE)
    info = store.put(key, stream, content_type="application/pdf")  # type: ignore[arg-type]

    assert stream.bytes_read == BIG_SIZE
    # The store asked for at most one part at a time: the stream was never held whole.
    assert 0 < stream.largest_read <= MULTIPART_PART_SIZE + 1
    assert info.size == BIG_SIZE
    assert info.content_type == "application/pdf"
    assert store.stat(key).etag == info.etag
    if isinstance(store, MinioStore):
        assert info.etag.endswith("-3")  # 25 MiB in 10 MiB parts: a 3-part multipart upload

    expected = sha256_of_stream(DeterministicStream(BIG_SIZE))
    with store.open(key) as source:
        assert sha256_of_stream(source) == expected  # type: ignore[arg-type]
    target = tmp_path / "downloads" / "extracto.pdf"
    store.get_file(key, target)
    assert sha256_of_file(target) == expected


def test_put_default_content_type(store: ObjectStore) -> None:
    info = store.put(key_for("blob"), io.BytesIO(b"x"), length=1)
    assert info.content_type == "application/octet-stream"


def test_open_and_get_file_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    key = key_for("ticket.jpg")
    payload = DeterministicStream(3 * MiB + 17).read()
    store.put(key, io.BytesIO(payload), length=len(payload), content_type="image/jpeg")

    with store.open(key) as source:
        first = source.read(10)
        rest = source.read()
    assert first + rest == payload

    target = tmp_path / "out" / "ticket.jpg"
    store.get_file(key, target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(payload).hexdigest()


def test_put_file(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "nomina.pdf"
    source.write_bytes(PDF)
    key = key_for("nomina.pdf", role=ObjectRole.PAYSLIP)
    info = store.put_file(key, source, content_type="application/pdf")
    assert info == store.stat(key)
    assert (info.size, info.etag) == (len(PDF), hashlib.md5(PDF).hexdigest())
    with store.open(key) as stored:
        assert stored.read() == PDF


def test_overwrite_replaces_content(store: ObjectStore) -> None:
    key = key_for("factura.pdf")
    store.put(key, io.BytesIO(b"old version"), content_type="text/plain")
    info = store.put(key, io.BytesIO(PDF), length=len(PDF), content_type="application/pdf")
    assert store.stat(key) == info
    assert info.etag == hashlib.md5(PDF).hexdigest()
    with store.open(key) as source:
        assert source.read() == PDF


def test_put_many_stores_each_object_as_put_would(store: ObjectStore) -> None:
    keys = [key_for(f"nomina-{i}.pdf", role=ObjectRole.PAYSLIP) for i in range(3)]
    store.put(keys[0], io.BytesIO(b"old version"), content_type="text/plain")
    payloads = [PDF + bytes([i]) for i in range(3)]
    store.put_many(list(zip(keys, payloads, strict=True)), content_type="application/pdf")
    for key, payload in zip(keys, payloads, strict=True):
        info = store.stat(key)
        assert (info.size, info.etag) == (len(payload), hashlib.md5(payload).hexdigest())
        assert info.content_type == "application/pdf"
        with store.open(key) as source:
            assert source.read() == payload
    store.put_many([])  # nothing to store is not an error


def test_put_many_checks_every_key_before_writing(store: ObjectStore) -> None:
    with pytest.raises(ValueError):
        store.put_many([(key_for("a.pdf"), PDF), ("../outside.pdf", PDF)])
    assert list(store.list("")) == []


def test_list_by_prefix(store: ObjectStore) -> None:
    keys = {
        key_for("b.pdf", company=1),
        key_for("a.pdf", company=1, role=ObjectRole.NORMALIZED),
        key_for("c.pdf", company=10),
        key_for("d.pdf", company=2),
    }
    for index, key in enumerate(sorted(keys)):
        store.put(key, io.BytesIO(b"x" * index), content_type="application/pdf")

    listed = list(store.list(company_prefix(1)))
    assert [info.key for info in listed] == sorted(k for k in keys if k.startswith("companies/1/"))
    assert all(isinstance(info, ObjectInfo) for info in listed)
    assert all(info.content_type == "application/pdf" for info in listed)
    assert listed == [store.stat(info.key) for info in listed]
    # A plain string prefix, as in S3: "companies/1" also matches company 10.
    assert {info.key for info in store.list("companies/1")} == {
        k for k in keys if k.startswith(("companies/1/", "companies/10/"))
    }
    assert [info.key for info in store.list("")] == sorted(keys)
    assert list(store.list("companies/999/")) == []


def test_delete_is_idempotent(store: ObjectStore) -> None:
    key = key_for("borrar.pdf")
    store.put(key, io.BytesIO(PDF), length=len(PDF))
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(ObjectNotFound):
        store.stat(key)
    store.delete(key)
    store.delete(key_for("never-existed.pdf"))
    assert list(store.list(company_prefix(1))) == []


def test_missing_object(store: ObjectStore, tmp_path: Path) -> None:
    key = key_for("missing.pdf")
    assert not store.exists(key)
    with pytest.raises(ObjectNotFound) as caught:
        store.stat(key)
    assert isinstance(caught.value, KeyError)
    assert caught.value.key == key
    with pytest.raises(ObjectNotFound), store.open(key):
        pass
    with pytest.raises(ObjectNotFound):
        store.get_file(key, tmp_path / "missing.pdf")
    assert not (tmp_path / "missing.pdf").exists()


@pytest.mark.parametrize("error", [OSError, ConnectionResetError])
def test_failed_upload_leaves_no_object(store: ObjectStore, error: type[OSError]) -> None:
    key = key_for("cortado.pdf")
    with pytest.raises(error, match="client went away") as caught:
        store.put(key, FailingStream(12 * MiB, error))  # type: ignore[arg-type]
    # The source failing is not the store being down: no retry-forever on a dead client.
    assert not isinstance(caught.value, StoreUnavailable)
    assert not store.exists(key)
    assert list(store.list(company_prefix(1))) == []


def test_short_stream_is_refused(store: ObjectStore) -> None:
    with pytest.raises(ValueError, match="announced"):
        store.put(key_for("x.pdf"), io.BytesIO(b"abc"), length=10)
    assert not store.exists(key_for("x.pdf"))


def test_known_length_reads_only_that_much(store: ObjectStore) -> None:
    stream = io.BytesIO(b"0123456789")
    info = store.put(key_for("x.bin"), stream, length=4)
    assert info.size == 4
    with store.open(key_for("x.bin")) as source:
        assert source.read() == b"0123"
    assert stream.read() == b"456789"


def test_download_url_serves_the_object(store: ObjectStore) -> None:
    key = key_for("Nomina_marzo.pdf", role=ObjectRole.BUNDLE)
    store.put(key, io.BytesIO(PDF), length=len(PDF), content_type="application/pdf")

    body, disposition = download(store, store.download_url(key, expires=timedelta(minutes=5)))
    assert body == PDF
    assert disposition is None

    body, disposition = download(
        store,
        store.download_url(key, expires=timedelta(minutes=5), file_name="Nóminas marzo 2026.pdf"),
    )
    assert body == PDF
    assert disposition == (
        'attachment; filename="Nominas_marzo_2026.pdf"; '
        "filename*=UTF-8''N%C3%B3minas%20marzo%202026.pdf"
    )


def test_ensure_ready_is_idempotent(store: ObjectStore) -> None:
    key = key_for("keep.pdf")
    store.put(key, io.BytesIO(PDF), length=len(PDF))
    store.ensure_ready()
    store.ensure_ready()
    assert store.exists(key)


HOSTILE_KEYS = [
    "",
    "/etc/passwd",
    "../outside.pdf",
    "companies/1/../../outside.pdf",
    "companies/1/..",
    "companies/./1/x.pdf",
    "companies\\1\\x.pdf",
    "..\\..\\win.ini",
    "companies/1/x.pdf\x00.txt",
    "companies//1/x.pdf",
    "companies/1/",
    "companies/1/.x.pdf.meta.json",
    ".hidden",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_are_rejected(store: ObjectStore, tmp_path: Path, key: str) -> None:
    source = tmp_path / "source.pdf"
    source.write_bytes(PDF)
    operations = [
        lambda: store.put(key, io.BytesIO(b"x"), length=1),
        lambda: store.put_file(key, source),
        lambda: store.put_many([(key_for("fine.pdf"), b"x"), (key, b"x")]),
        lambda: store.open(key).__enter__(),
        lambda: store.get_file(key, tmp_path / "out"),
        lambda: store.stat(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.download_url(key, expires=timedelta(minutes=1)),
    ]
    for operation in operations:
        with pytest.raises(ValueError):
            operation()
    assert list(store.list("")) == []
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "outside.pdf").exists()


@pytest.mark.parametrize("prefix", ["../", "/etc", "companies/../..", "a\\b", "a\x00"])
def test_hostile_prefixes_are_rejected(store: ObjectStore, prefix: str) -> None:
    with pytest.raises(ValueError):
        list(store.list(prefix))


# --- MinIO specifics ---------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: s.ensure_ready(),
        lambda s: s.put("companies/1/x.pdf", io.BytesIO(b"x"), length=1),
        lambda s: s.put("companies/1/x.pdf", DeterministicStream(11 * MiB)),
        lambda s: s.stat("companies/1/x.pdf"),
        lambda s: s.exists("companies/1/x.pdf"),
        lambda s: s.open("companies/1/x.pdf").__enter__(),
        lambda s: list(s.list("companies/")),
        lambda s: s.delete("companies/1/x.pdf"),
    ],
    ids=["ensure_ready", "put", "put_multipart", "stat", "exists", "open", "list", "delete"],
)
def test_unreachable_endpoint_raises_store_unavailable_fast(operation) -> None:
    store = MinioStore.from_endpoint(
        f"127.0.0.1:{_closed_port()}", "testing", "testing", "papeleo", region="us-east-1"
    )
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        operation(store)
    assert time.monotonic() - started < 5
    assert isinstance(caught.value, ConnectionError)


def test_download_url_needs_region_lookup_unreachable() -> None:
    # Without a region the SDK asks the server for the bucket location first.
    store = MinioStore.from_endpoint(f"127.0.0.1:{_closed_port()}", "a", "b", "papeleo")
    with pytest.raises(StoreUnavailable):
        store.download_url("companies/1/x.pdf", expires=timedelta(minutes=1))


def test_minio_download_url_expiry_bounds(s3_endpoint: str) -> None:
    store = MinioStore.from_endpoint(
        s3_endpoint, "testing", "testing", "papeleo", region="us-east-1"
    )
    with pytest.raises(ValueError):
        store.download_url("companies/1/x.pdf", expires=timedelta(days=8))
    with pytest.raises(ValueError):
        store.download_url("companies/1/x.pdf", expires=timedelta(0))


def test_minio_open_releases_connection(s3_endpoint: str) -> None:
    store = MinioStore.from_endpoint(
        s3_endpoint, "testing", "testing", f"papeleo-{uuid.uuid4().hex[:12]}", region="us-east-1"
    )
    store.ensure_ready()
    key = key_for("a.pdf")
    store.put(key, io.BytesIO(PDF), length=len(PDF))
    with store.open(key) as source:
        response = source
        source.read(5)  # leave the body half read
    assert response.closed  # type: ignore[attr-defined]


# --- FilesystemStore specifics -------------------------------------------------------------------


def test_filesystem_verify_download_rejects_hostile_keys(fs_store: FilesystemStore) -> None:
    expires = int(time.time()) + 60
    for key in HOSTILE_KEYS:
        assert not fs_store.verify_download(key, expires, "0" * 64)


@pytest.fixture(params=["attribute", "sidecar"])
def metadata_in(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the store keeps content types: a file attribute, or (without them) a sidecar."""
    if request.param == "sidecar":

        def unsupported(*_: object) -> None:
            raise OSError(errno.ENOTSUP, "Operation not supported")

        monkeypatch.setattr(objects.os, "setxattr", unsupported)
    return str(request.param)


def files_beside(name: str, metadata_in: str) -> list[str]:
    """The folder of object ``name`` once written: it, and its sidecar if there is one."""
    return sorted([name, f".{name}.meta.json"] if metadata_in == "sidecar" else [name])


def test_filesystem_layout_and_no_sidecars_listed(
    fs_store: FilesystemStore, tmp_path: Path, metadata_in: str
) -> None:
    key = key_for("factura.pdf")
    fs_store.put(key, io.BytesIO(PDF), length=len(PDF), content_type="application/pdf")
    data_file = tmp_path / "objects" / key
    assert data_file.read_bytes() == PDF
    # Only the object (and its hidden sidecar): no temp files left behind.
    assert sorted(p.name for p in data_file.parent.iterdir()) == files_beside(
        "factura.pdf", metadata_in
    )
    assert [info.key for info in fs_store.list("")] == [key]
    info = fs_store.stat(key)
    assert (info.content_type, info.etag) == ("application/pdf", hashlib.md5(PDF).hexdigest())


def test_filesystem_failed_upload_leaves_no_temp_files(
    fs_store: FilesystemStore, tmp_path: Path, metadata_in: str
) -> None:
    key = key_for("factura.pdf")
    fs_store.put(key, io.BytesIO(PDF), length=len(PDF))
    with pytest.raises(OSError):
        fs_store.put(key, FailingStream(2 * MiB))  # type: ignore[arg-type]
    folder = (tmp_path / "objects" / key).parent
    assert sorted(p.name for p in folder.iterdir()) == files_beside("factura.pdf", metadata_in)
    with fs_store.open(key) as source:
        assert source.read() == PDF  # the previous version is intact


def test_filesystem_put_many_syncs_the_files_before_and_the_renames_after(
    fs_store: FilesystemStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, metadata_in: str
) -> None:
    root = tmp_path / "objects"
    keys = [key_for(f"nomina-{i}.pdf", role=ObjectRole.PAYSLIP) for i in range(2)]
    seen: list[tuple[list[str], list[str]]] = []

    def syncfs(fd: int) -> int:
        files = [p for p in root.rglob("*") if p.is_file()]
        temps = sorted(p.name for p in files if p.suffix == ".tmp")
        seen.append((temps, sorted(p.name for p in files if p.suffix != ".tmp")))
        return 0

    monkeypatch.setattr(objects, "_SYNCFS", syncfs)
    fs_store.put_many([(key, PDF) for key in keys], content_type="application/pdf")
    # One filesystem: two flushes for the batch. First every temp file (and sidecar) is
    # written and nothing renamed; then every object (and sidecar) is in place.
    assert len(seen) == 2
    (temps, finals), (temps_after, finals_after) = seen
    expected = sorted(
        files_beside("nomina-0.pdf", metadata_in) + files_beside("nomina-1.pdf", metadata_in)
    )
    assert len(temps) == len(expected)
    assert finals == []
    assert temps_after == []
    assert finals_after == expected
    assert fs_store.stat(keys[0]).content_type == "application/pdf"


def test_filesystem_put_many_flush_failure_leaves_nothing(
    fs_store: FilesystemStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_syncfs(fd: int) -> int:
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(objects, "_SYNCFS", failing_syncfs)
    with pytest.raises(OSError) as raised:
        fs_store.put_many([(key_for("nomina.pdf"), PDF)])
    assert raised.value.errno == errno.EIO
    assert [p for p in (tmp_path / "objects").rglob("*") if p.is_file()] == []


def test_filesystem_put_many_without_syncfs_puts_each(
    fs_store: FilesystemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    if sys.platform == "linux":
        assert objects._SYNCFS is not None  # the batched path is the one Linux takes
    monkeypatch.setattr(objects, "_SYNCFS", None)
    with pytest.raises(ValueError):
        fs_store.put_many([(key_for("a.pdf"), PDF), ("../outside.pdf", PDF)])
    assert list(fs_store.list("")) == []
    fs_store.put_many([(key_for("nomina.pdf"), PDF)], content_type="application/pdf")
    assert fs_store.stat(key_for("nomina.pdf")).etag == hashlib.md5(PDF).hexdigest()


def test_filesystem_stale_metadata_falls_back_to_bytes(
    fs_store: FilesystemStore, tmp_path: Path, metadata_in: str
) -> None:
    key = key_for("factura.pdf")
    fs_store.put(key, io.BytesIO(b"old"), content_type="application/pdf")
    # A crash between the sidecar and the data rename, or a file put there by hand: a new
    # file with no attribute, maybe an old sidecar.
    data_file = tmp_path / "objects" / key
    replacement = data_file.with_name("replacement")
    replacement.write_bytes(b"new")
    replacement.replace(data_file)
    info = fs_store.stat(key)
    assert info.etag == hashlib.md5(b"new").hexdigest()
    assert info.content_type == "application/octet-stream"
    # The same file rewritten in place: its attribute (same inode) no longer fits its size.
    fs_store.put(key, io.BytesIO(b"old"), content_type="application/pdf")
    data_file.write_bytes(b"rewritten")
    info = fs_store.stat(key)
    assert info.etag == hashlib.md5(b"rewritten").hexdigest()
    assert info.content_type == "application/octet-stream"


def test_filesystem_reads_sidecars_of_objects_written_before_attributes(
    fs_store: FilesystemStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = key_for("factura.pdf")
    with monkeypatch.context() as without_attributes:
        without_attributes.setattr(objects, "_attach_meta", lambda fd, meta: False)
        fs_store.put(key, io.BytesIO(PDF), content_type="application/pdf")
    assert (tmp_path / "objects" / key).with_name(".factura.pdf.meta.json").exists()
    assert fs_store.stat(key).content_type == "application/pdf"
    # Written again where attributes work: the attribute is read, the old sidecar ignored.
    fs_store.put(key, io.BytesIO(b"%PDF-1.7 new"), content_type="application/x-new")
    assert fs_store.stat(key).content_type == "application/x-new"
    fs_store.delete(key)
    assert list((tmp_path / "objects" / key).parent.iterdir()) == []


def test_filesystem_download_url_format(fs_store: FilesystemStore) -> None:
    key = key_for("Nomina marzo.pdf")
    now = time.time()
    url = fs_store.download_url(key, expires=timedelta(minutes=10), file_name="Nómina marzo.pdf")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == URL_BASE
    assert parts.path == f"/v1/blobs/{key}"
    query = parse_qs(parts.query)
    assert list(query) == ["expires", "name", "signature"]
    assert now + 599 <= int(query["expires"][0]) <= now + 601
    assert query["name"] == ["Nómina marzo.pdf"]
    assert len(query["signature"][0]) == 64


def test_filesystem_verify_download(fs_store: FilesystemStore) -> None:
    key = key_for("a.pdf")
    other = key_for("b.pdf")
    url = fs_store.download_url(key, expires=timedelta(minutes=5), file_name="Año.pdf")
    query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    expires, signature = int(query["expires"]), query["signature"]

    assert fs_store.verify_download(key, expires, signature, "Año.pdf")
    assert fs_store.verify_download(key, expires, signature, "Año.pdf", now=expires)
    # Tampered key, name or expiry; expired; wrong or malformed signature; another secret.
    assert not fs_store.verify_download(other, expires, signature, "Año.pdf")
    assert not fs_store.verify_download(key, expires, signature, "Ano.pdf")
    assert not fs_store.verify_download(key, expires, signature)
    assert not fs_store.verify_download(key, expires + 3600, signature, "Año.pdf")
    assert not fs_store.verify_download(key, expires, signature, "Año.pdf", now=expires + 1)
    assert not fs_store.verify_download(key, expires, "0" * 64, "Año.pdf")
    assert not fs_store.verify_download(key, expires, signature[:-1], "Año.pdf")
    assert not fs_store.verify_download(key, expires, "ñ" * 64, "Año.pdf")
    stranger = FilesystemStore(Path("/nonexistent"), url_base=URL_BASE, secret="other")
    assert not stranger.verify_download(key, expires, signature, "Año.pdf")


def test_filesystem_download_url_without_name(fs_store: FilesystemStore) -> None:
    key = key_for("a.pdf")
    url = fs_store.download_url(key, expires=timedelta(seconds=30))
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert query["name"] == [""]
    assert fs_store.verify_download(key, int(query["expires"][0]), query["signature"][0])


def test_filesystem_needs_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        FilesystemStore(tmp_path, url_base=URL_BASE, secret="")


def test_filesystem_missing_root_lists_nothing(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "never-created", url_base=URL_BASE, secret=SECRET)
    assert list(store.list("")) == []
    assert not store.exists(key_for("a.pdf"))


# --- Content-Disposition -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("factura.pdf", 'attachment; filename="factura.pdf"'),
        (
            "Nómina.pdf",
            "attachment; filename=\"Nomina.pdf\"; filename*=UTF-8''N%C3%B3mina.pdf",
        ),
        (
            'a"b\r\nSet-Cookie: x.pdf',
            'attachment; filename="a_bSet-Cookie_x.pdf"; '
            "filename*=UTF-8''a%22bSet-Cookie%3A%20x.pdf",
        ),
        ("../../etc/passwd", 'attachment; filename="passwd"'),
        ("😀", "attachment; filename=\"document\"; filename*=UTF-8''%F0%9F%98%80"),
    ],
)
def test_content_disposition(name: str, expected: str) -> None:
    assert content_disposition(name) == expected
    assert "\r" not in content_disposition(name)
    assert "\n" not in content_disposition(name)
