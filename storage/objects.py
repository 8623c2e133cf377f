"""Object storage: one `ObjectStore` protocol, a filesystem store and a MinIO store.

Keys are built by `storage.keys.object_key`; both stores also refuse keys that could escape a
folder (absolute, `..` or dot-leading segments, backslashes, NUL), so they behave alike.
Everything is streamed: no method reads a whole object into memory (`put_many` takes small
objects that are already in memory).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import hmac
import io
import json
import os
import stat as stat_mode
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, Protocol, cast
from urllib.parse import quote, urlencode, urlsplit

import certifi
import urllib3
from minio import Minio
from minio.datatypes import PostPolicy
from minio.error import S3Error, ServerError
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from storage.keys import safe_file_name

if TYPE_CHECKING:
    from minio.datatypes import Object

DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
CHUNK_SIZE: Final = 1024 * 1024
# Part size for uploads of unknown length: memory per upload stays a few parts, not the file.
MULTIPART_PART_SIZE: Final = 10 * 1024 * 1024
# A dead endpoint must fail in seconds so a worker can retry later, not hang for minutes.
CONNECT_TIMEOUT_SECONDS: Final = 3.0
READ_TIMEOUT_SECONDS: Final = 60.0
MAX_PRESIGN_EXPIRY: Final = timedelta(days=7)

_NOT_FOUND_CODES: Final = frozenset({"NoSuchKey", "NoSuchObject"})
_UNAVAILABLE_ERRORS: Final = (
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    Urllib3TimeoutError,
    TimeoutError,
    ConnectionError,
)
_SIGNATURE_CONTEXT: Final = "papeleo-blob-download-v1"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a store knows about one object; `last_modified` is timezone-aware UTC."""

    key: str
    size: int
    etag: str
    content_type: str
    last_modified: datetime


class ObjectNotFound(KeyError):
    """No object at this key."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"no object at {self.key!r}"


class StoreUnavailable(ConnectionError):
    """The store cannot be reached right now; transient, callers retry."""


class ObjectStore(Protocol):
    """Streamed object storage, addressed by keys from `storage.keys.object_key`."""

    def ensure_ready(self) -> None:
        """Create the bucket or root folder; safe to call any number of times."""
        ...

    def put(
        self,
        key: str,
        stream: BinaryIO,
        *,
        length: int = -1,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        """Store `stream` (read in chunks; `length=-1` when unknown) at `key`."""
        ...

    def put_many(
        self, objects: Sequence[tuple[str, bytes]], *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> None:
        """Store small in-memory objects (key, bytes); every one is durable on return."""
        ...

    def put_file(
        self, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Store a local file at `key`."""
        ...

    def open(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """Context manager giving a streamed binary reader of the object."""
        ...

    def get_file(self, key: str, path: Path) -> None:
        """Download the object to a local file (parents are created)."""
        ...

    def stat(self, key: str) -> ObjectInfo:
        """Describe the object; `ObjectNotFound` when missing."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object exists at `key`."""
        ...

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing key is not an error."""
        ...

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, recursively, in key order."""
        ...

    def download_url(self, key: str, *, expires: timedelta, file_name: str | None = None) -> str:
        """Short-lived download URL; `file_name` becomes the attachment's name."""
        ...


def content_disposition(file_name: str) -> str:
    """``Content-Disposition`` value for an attachment, with RFC 5987 ``filename*`` if needed.

    The API serving /v1/blobs uses this too, so both stores name downloads the same way.
    """
    # Control characters would allow header injection; directory parts mean nothing here.
    printable = "".join(ch for ch in file_name if unicodedata.category(ch)[0] != "C")
    display_name = printable.replace("\\", "/").rsplit("/", 1)[-1].strip()
    fallback = safe_file_name(display_name)
    if not display_name or display_name == fallback:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(display_name, safe='')}"


def _check_key(key: str) -> None:
    """ValueError unless `key` is a relative, slash-separated key that stays inside a store."""
    if not isinstance(key, str) or not key:
        raise ValueError("object key must be a non-empty string")
    if "\x00" in key or "\\" in key:
        raise ValueError(f"object key {key!r} contains a NUL byte or a backslash")
    if key.startswith("/"):
        raise ValueError(f"object key {key!r} is absolute")
    # Dot-leading segments cover "." and ".." and keep the store's hidden sidecars out of reach.
    for segment in key.split("/"):
        if not segment or segment.startswith("."):
            raise ValueError(f"object key {key!r} has an empty or dot-leading segment")


def _check_prefix(prefix: str) -> None:
    """ValueError for a listing prefix that could leave the store."""
    if "\x00" in prefix or "\\" in prefix or prefix.startswith("/"):
        raise ValueError(f"prefix {prefix!r} contains a NUL byte or a backslash or is absolute")
    if any(segment in {".", ".."} for segment in prefix.split("/")):
        raise ValueError(f"prefix {prefix!r} contains a '.' or '..' segment")


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable, not just the file contents.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load_syncfs() -> Callable[[int], int] | None:
    """Linux's syncfs(2) from the C library, or None where there is none."""
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return cast("Callable[[int], int]", function)


_SYNCFS: Final = _load_syncfs()


def _sync_filesystems(syncfs: Callable[[int], int], folders: Iterable[Path]) -> None:
    """One syncfs per filesystem holding ``folders``.

    Every file written, and every rename or new folder, on it is on disk when this returns
    (syncfs reports write-back errors since Linux 5.8).
    """
    by_device = {folder.stat().st_dev: folder for folder in folders}
    for folder in by_device.values():
        fd = os.open(folder, os.O_RDONLY)
        try:
            if syncfs(fd) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error), str(folder))
        finally:
            os.close(fd)


def _write_temp(
    path: Path, data: bytes, meta: dict[str, object] | None = None
) -> tuple[Path, int, bool]:
    """``data`` in a new hidden temp file beside ``path``, not yet synced.

    Returns (temp, inode, whether ``meta`` went into its extended attribute).
    """
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            inode = os.fstat(out.fileno()).st_ino
            attached = meta is not None and _attach_meta(out.fileno(), meta | {"inode": inode})
            return Path(temp_name), inode, attached
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


# An object's content type and ETag, kept with its bytes: the inode carries them through the
# rename and one fsync covers both. Where the filesystem has no user attributes, a sidecar.
_META_ATTRIBUTE: Final = "user.papeleo.meta"
_NO_ATTRIBUTES: Final = frozenset({errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS})


def _attach_meta(fd: int, meta: dict[str, object]) -> bool:
    """Store ``meta`` in the open file's extended attribute; False where there are none."""
    if not hasattr(os, "setxattr"):  # not Linux
        return False
    try:
        os.setxattr(fd, _META_ATTRIBUTE, json.dumps(meta).encode())
    except OSError as error:
        if error.errno in _NO_ATTRIBUTES:
            return False
        raise
    return True


def _attached_meta(path: Path) -> dict[str, object]:
    try:
        meta = json.loads(os.getxattr(path, _META_ATTRIBUTE))
    except (AttributeError, OSError, ValueError):  # none, unsupported, or not ours
        return {}
    return meta if isinstance(meta, dict) else {}


class FilesystemStore:
    """Objects as files under `root`: the embedded default, no server needed.

    Each object's content type and ETag live in an extended attribute of its file, or, on a
    filesystem without them, in a hidden sidecar ``a/b/.name.meta.json``. Both record the
    file's inode and size, so a stale one is detected.
    """

    def __init__(self, root: Path, *, url_base: str, secret: str) -> None:
        if not secret:
            raise ValueError("FilesystemStore needs a non-empty secret to sign download URLs")
        self._root = Path(root)
        self._url_base = url_base.rstrip("/")
        self._secret = secret.encode()

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self._root.joinpath(*key.split("/"))

    @staticmethod
    def _meta_path(path: Path) -> Path:
        return path.with_name(f".{path.name}.meta.json")

    def ensure_ready(self) -> None:
        """Create the root folder."""
        self._root.mkdir(parents=True, exist_ok=True)

    def put(
        self,
        key: str,
        stream: BinaryIO,
        *,
        length: int = -1,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        """Stream into a temp file beside the target, fsync, then rename over it atomically."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        temp_path = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while length < 0 or size < length:
                    want = CHUNK_SIZE if length < 0 else min(CHUNK_SIZE, length - size)
                    chunk = stream.read(want)
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                if length >= 0 and size != length:
                    raise ValueError(f"stream ended after {size} bytes; {length} were announced")
                out.flush()
                written = os.fstat(out.fileno())
                meta: dict[str, object] = {
                    "content_type": content_type,
                    "etag": digest.hexdigest(),
                    "size": size,
                    "inode": written.st_ino,
                }
                attached = _attach_meta(out.fileno(), meta)
                os.fsync(out.fileno())
            if not attached:
                # Sidecar first: if we crash before the data rename, its inode no longer matches.
                self._write_meta(path, meta)
            temp_path.replace(path)
            _fsync_directory(path.parent)
        except BaseException:
            temp_path.unlink(missing_ok=True)
            raise
        return ObjectInfo(
            key=key,
            size=size,
            etag=str(meta["etag"]),
            content_type=content_type,
            last_modified=datetime.fromtimestamp(written.st_mtime, tz=UTC),
        )

    def put_many(
        self, objects: Sequence[tuple[str, bytes]], *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> None:
        """Store small in-memory objects, each as `put` would; all durable on return.

        The steps of `put` in batches: every temp file (and sidecar) written, one syncfs,
        every rename, one more syncfs. Two flushes per batch instead of two fsyncs per
        object (a batch of rendered payslips). Without syncfs (not Linux): `put` each.
        """
        paths = [self._path(key) for key, _ in objects]  # every key checked before any write
        syncfs = _SYNCFS
        if syncfs is None:
            for key, data in objects:
                self.put(key, io.BytesIO(data), length=len(data), content_type=content_type)
            return
        temps: list[Path] = []
        renames: list[tuple[Path, Path]] = []  # (temp, final), in order
        try:
            for path, (_, data) in zip(paths, objects, strict=True):
                path.parent.mkdir(parents=True, exist_ok=True)
                meta: dict[str, object] = {
                    "content_type": content_type,
                    "etag": hashlib.md5(data, usedforsecurity=False).hexdigest(),
                    "size": len(data),
                }
                data_temp, inode, attached = _write_temp(path, data, meta)
                temps.append(data_temp)
                if not attached:
                    sidecar = json.dumps(meta | {"inode": inode}).encode()
                    meta_temp, _, _ = _write_temp(path, sidecar)
                    temps.append(meta_temp)
                    # Sidecar first, as in `put`: a crash in between leaves a detectable stale one.
                    renames.append((meta_temp, self._meta_path(path)))
                renames.append((data_temp, path))
            folders = {path.parent for path in paths}
            _sync_filesystems(syncfs, folders)
            for temp, final in renames:
                temp.replace(final)
            _sync_filesystems(syncfs, folders)
        except BaseException:
            for temp in temps:
                temp.unlink(missing_ok=True)
            raise

    def _write_meta(self, path: Path, meta: dict[str, object]) -> None:
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(meta, out)
                out.flush()
                os.fsync(out.fileno())
            Path(temp_name).replace(self._meta_path(path))
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def put_file(
        self, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Store a local file at `key`."""
        with path.open("rb") as source:
            return self.put(key, source, content_type=content_type)

    def open(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """The object's file opened for reading (a file object is its own context manager)."""
        path = self._path(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound(key) from None

    def get_file(self, key: str, path: Path) -> None:
        """Copy the object to `path`, atomically (temp file + rename)."""
        with self.open(key) as source:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    while chunk := source.read(CHUNK_SIZE):
                        out.write(chunk)
                Path(temp_name).replace(path)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise

    def stat(self, key: str) -> ObjectInfo:
        """Size and time from the file, content type and ETag from its attribute or sidecar."""
        path = self._path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        if not stat_mode.S_ISREG(st.st_mode):
            raise ObjectNotFound(key)
        meta = _attached_meta(path) or self._read_meta(path)
        if meta.get("inode") == st.st_ino and meta.get("size") == st.st_size:
            etag, content_type = str(meta["etag"]), str(meta["content_type"])
        else:
            # Metadata lost or stale (crash or concurrent writers): the bytes are the truth.
            etag, content_type = self._md5_of(path), DEFAULT_CONTENT_TYPE
        return ObjectInfo(
            key=key,
            size=st.st_size,
            etag=etag,
            content_type=content_type,
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        )

    def _read_meta(self, path: Path) -> dict[str, object]:
        try:
            meta = json.loads(self._meta_path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    @staticmethod
    def _md5_of(path: Path) -> str:
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as source:
            while chunk := source.read(CHUNK_SIZE):
                digest.update(chunk)
        return digest.hexdigest()

    def exists(self, key: str) -> bool:
        """Whether a regular file exists for `key`."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file and its sidecar; a missing key is fine."""
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
            path.unlink()
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            self._meta_path(path).unlink()

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Objects whose key starts with `prefix` (plain string prefix, as in S3), in key order."""
        _check_prefix(prefix)
        start_dir = prefix.rpartition("/")[0]
        start = self._root.joinpath(*start_dir.split("/")) if start_dir else self._root
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(start):
            relative = Path(dirpath).relative_to(self._root).parts
            # Only descend where keys can still match, and never into hidden folders.
            dirnames[:] = [
                name
                for name in dirnames
                if not name.startswith(".")
                and _could_match("/".join((*relative, name)) + "/", prefix)
            ]
            keys.extend(
                key
                for name in filenames
                if not name.startswith(".")
                and (key := "/".join((*relative, name))).startswith(prefix)
            )
        for key in sorted(keys):
            # Deleted between the walk and now: skip, as a later S3 listing would.
            with contextlib.suppress(ObjectNotFound):
                yield self.stat(key)

    def download_url(self, key: str, *, expires: timedelta, file_name: str | None = None) -> str:
        """Signed URL of the API's /v1/blobs endpoint, valid for `expires`."""
        _check_key(key)
        if expires <= timedelta(0):
            raise ValueError("expires must be positive")
        expires_at = int(time.time() + expires.total_seconds())
        query = urlencode(
            {
                "expires": expires_at,
                "name": file_name or "",
                "signature": self._signature(key, expires_at, file_name),
            },
            quote_via=quote,
        )
        return f"{self._url_base}/v1/blobs/{quote(key)}?{query}"

    def verify_download(
        self,
        key: str,
        expires: int,
        signature: str,
        file_name: str | None = None,
        *,
        now: float | None = None,
    ) -> bool:
        """True when `signature` signs this key, expiry and name and the URL has not expired."""
        try:
            _check_key(key)
        except ValueError:
            return False
        current = time.time() if now is None else now
        if expires < current:
            return False
        expected = self._signature(key, expires, file_name)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def _signature(self, key: str, expires: int, file_name: str | None) -> str:
        # JSON keeps the fields unambiguous whatever characters they contain.
        message = json.dumps([_SIGNATURE_CONTEXT, key, int(expires), file_name or ""])
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()


def _could_match(directory_key: str, prefix: str) -> bool:
    """Whether keys under `directory_key` (ending in "/") can start with `prefix`."""
    return directory_key.startswith(prefix) or prefix.startswith(directory_key)


@contextlib.contextmanager
def _translated_errors(key: str | None) -> Iterator[None]:
    """Map SDK errors: missing object → ObjectNotFound, no connection → StoreUnavailable."""
    try:
        yield
    except S3Error as exc:
        if key is not None and exc.code in _NOT_FOUND_CODES:
            raise ObjectNotFound(key) from exc
        raise
    except ServerError as exc:
        # 5xx after the client's own retries: the store is there but not serving.
        raise StoreUnavailable(f"object store answered HTTP {exc.status_code}") from exc
    except _UNAVAILABLE_ERRORS as exc:
        if isinstance(exc, StoreUnavailable):
            raise
        raise StoreUnavailable(f"object store unreachable: {exc}") from exc


class _WatchedSource:
    """Passes reads through, remembering the source's own failure and whether it ran dry."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.error: BaseException | None = None
        self.bytes_read = 0
        self.at_eof = False

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._stream.read(size)
        except BaseException as exc:
            self.error = exc
            raise
        if not data and size != 0:
            self.at_eof = True
        self.bytes_read += len(data or b"")
        return data


class MinioStore:
    """Objects in one MinIO (S3) bucket through the `minio` SDK."""

    def __init__(self, client: Minio, bucket: str, *, presigner: Minio | None = None) -> None:
        self._client = client
        self._bucket = bucket
        # Presigned links are signed for the host browsers reach (the Host header is signed).
        self._presigner = presigner or client

    @classmethod
    def from_endpoint(
        cls,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        region: str | None = None,
        public_endpoint: str | None = None,
    ) -> MinioStore:
        """Client with short connect timeouts and few retries, so a dead endpoint fails fast."""
        http_client = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            retries=urllib3.Retry(
                total=2,
                connect=1,
                read=1,
                backoff_factor=0.2,
                status_forcelist=(500, 502, 503, 504),
            ),
        )
        client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http_client,
        )
        presigner = None
        if public_endpoint:
            # "https://files.example.es" or "files.example.es:9000"; signing happens offline,
            # so the region must be known (no GetBucketLocation to a host we may not reach).
            address = public_endpoint if "://" in public_endpoint else f"//{public_endpoint}"
            parts = urlsplit(address)
            presigner = Minio(
                parts.netloc,
                access_key=access_key,
                secret_key=secret_key,
                secure=parts.scheme == "https" if parts.scheme else secure,
                region=region or "us-east-1",
                http_client=http_client,
            )
        return cls(client, bucket, presigner=presigner)

    def ensure_ready(self) -> None:
        """Create the bucket unless it exists."""
        with _translated_errors(None):
            if self._client.bucket_exists(self._bucket):
                return
            try:
                self._client.make_bucket(self._bucket)
            except S3Error as exc:
                # Another process created it between our check and our request.
                if exc.code != "BucketAlreadyOwnedByYou":
                    raise

    def put(
        self,
        key: str,
        stream: BinaryIO,
        *,
        length: int = -1,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        """Streamed upload; unknown length goes multipart in 10 MiB parts."""
        _check_key(key)
        source = _WatchedSource(stream)
        try:
            with _translated_errors(key):
                self._client.put_object(
                    self._bucket,
                    key,
                    source,
                    length,
                    content_type=content_type,
                    part_size=MULTIPART_PART_SIZE if length < 0 else 0,
                )
        except Exception as exc:
            # The caller's stream failing is the caller's problem, not a store outage.
            if source.error is not None and exc.__cause__ is source.error:
                raise source.error from None
            if length >= 0 and source.at_eof and source.bytes_read < length:
                raise ValueError(
                    f"stream ended after {source.bytes_read} bytes; {length} were announced"
                ) from exc
            raise
        # One HEAD so put returns exactly what stat will (S3 PUT gives no size or date).
        return self.stat(key)

    def put_many(
        self, objects: Sequence[tuple[str, bytes]], *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> None:
        """One upload each: S3 makes every PUT durable before answering."""
        for key, _ in objects:
            _check_key(key)  # every key checked before any upload
        for key, data in objects:
            self.put(key, io.BytesIO(data), length=len(data), content_type=content_type)

    def put_file(
        self, key: str, path: Path, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectInfo:
        """Upload a local file."""
        _check_key(key)
        with _translated_errors(key):
            self._client.fput_object(self._bucket, key, str(path), content_type=content_type)
        return self.stat(key)

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        """The streamed HTTP response; closed and its connection released on exit."""
        _check_key(key)
        with _translated_errors(key):
            response = self._client.get_object(self._bucket, key)
        try:
            with _translated_errors(key):
                yield cast(BinaryIO, response)
        finally:
            response.close()
            response.release_conn()

    def get_file(self, key: str, path: Path) -> None:
        """Download to `path` (the SDK writes a temp file and renames it)."""
        _check_key(key)
        with _translated_errors(key):
            self._client.fget_object(self._bucket, key, str(path))

    def stat(self, key: str) -> ObjectInfo:
        """HEAD the object."""
        _check_key(key)
        with _translated_errors(key):
            obj = self._client.stat_object(self._bucket, key)
        return _object_info(obj, content_type=obj.content_type)

    def exists(self, key: str) -> bool:
        """HEAD the object; False when missing."""
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        """S3 DELETE is already idempotent."""
        _check_key(key)
        with _translated_errors(key):
            self._client.remove_object(self._bucket, key)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Recursive listing; content type from MinIO's listing metadata, else one HEAD each."""
        _check_prefix(prefix)
        with _translated_errors(None):
            for obj in self._client.list_objects(
                self._bucket, prefix=prefix, recursive=True, include_user_meta=True
            ):
                if obj.is_dir:
                    continue
                content_type = _listed_content_type(obj)
                if content_type is not None:
                    yield _object_info(obj, content_type=content_type)
                    continue
                # Plain S3 listings carry no content type (MinIO's metadata=true extension does).
                with contextlib.suppress(ObjectNotFound):
                    yield self.stat(cast(str, obj.object_name))

    def download_url(self, key: str, *, expires: timedelta, file_name: str | None = None) -> str:
        """Presigned GET; `file_name` is sent back as Content-Disposition by the store."""
        _check_key(key)
        if not timedelta(seconds=1) <= expires <= MAX_PRESIGN_EXPIRY:
            raise ValueError("expires must be between one second and seven days")
        headers = (
            {"response-content-disposition": content_disposition(file_name)} if file_name else None
        )
        with _translated_errors(key):
            return self._presigner.presigned_get_object(
                self._bucket, key, expires=expires, response_headers=headers
            )

    def upload_form(
        self,
        key: str,
        *,
        expires: timedelta,
        content_type: str,
        max_bytes: int,
        min_bytes: int = 1,
    ) -> tuple[str, dict[str, str]]:
        """A browser-form upload (S3 POST policy) of exactly `key`: URL and form fields.

        The policy fixes the key and the content type, bounds the size and expires; the
        file goes last in the multipart form, after the fields.
        """
        _check_key(key)
        if not timedelta(seconds=1) <= expires <= MAX_PRESIGN_EXPIRY:
            raise ValueError("expires must be between one second and seven days")
        policy = PostPolicy(self._bucket, datetime.now(UTC) + expires)
        policy.add_equals_condition("key", key)
        policy.add_equals_condition("Content-Type", content_type)
        policy.add_content_length_range_condition(min_bytes, max_bytes)
        with _translated_errors(None):
            fields = self._presigner.presigned_post_policy(policy)
        fields = {"key": key, "Content-Type": content_type, **fields}
        base = self._presigner._base_url  # the SDK's own endpoint; it has no public getter
        scheme = "https" if base.is_https else "http"
        return f"{scheme}://{base.host}/{self._bucket}", fields


def _listed_content_type(obj: Object) -> str | None:
    for name, value in (obj.metadata or {}).items():
        if name.lower() == "content-type" and value:
            return str(value)
    return None


def _object_info(obj: Object, *, content_type: str | None) -> ObjectInfo:
    return ObjectInfo(
        key=cast(str, obj.object_name),
        size=int(obj.size or 0),
        etag=obj.etag or "",
        content_type=content_type or DEFAULT_CONTENT_TYPE,
        last_modified=(obj.last_modified or datetime.now(UTC)).astimezone(UTC),
    )
