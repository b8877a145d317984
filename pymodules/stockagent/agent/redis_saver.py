"""A LangGraph checkpoint saver on plain Redis (no modules), so every replica sees every thread.

Keys of one thread ``T`` under ``PREFIX`` (``stockagent:ckpt``), per checkpoint namespace ``N``:

- ``PREFIX:T`` — set of the thread's namespaces (what ``delete_thread`` and TTL renewal walk);
- ``PREFIX:T:N:ids`` — sorted set of checkpoint ids, all score 0 so they sort by id (ids are
  time-ordered UUIDs, newest last);
- ``PREFIX:T:N:checkpoints`` — hash: checkpoint id to the checkpoint record;
- ``PREFIX:T:N:writes`` — hash: ``id NUL task_path NUL task_id NUL idx`` to a pending write.

A record is a JSON header line (type, parent, metadata or channel) and the serializer's bytes.
Every write renews the TTL of all the thread's keys (the server's thread TTL) in the same
MULTI/EXEC as the write itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, cast

import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)

PREFIX = "stockagent:ckpt"
THREAD_TTL_S = 30 * 24 * 3600  # ThreadTTL in server/analysis/threads.go
_SEP = "\x00"


def _pack(header: dict[str, Any], payload: bytes) -> bytes:
    return json.dumps(header, ensure_ascii=False).encode() + b"\n" + payload


def _unpack(raw: bytes) -> tuple[dict[str, Any], bytes]:
    head, _, payload = raw.partition(b"\n")
    return json.loads(head), payload


class RedisSaver(BaseCheckpointSaver[int]):
    """Checkpoints of LangGraph threads in Redis; safe to share between threads (redis-py pools)."""

    def __init__(self, client: redis.Redis, *, prefix: str = PREFIX, ttl_s: int = THREAD_TTL_S) -> None:
        super().__init__()
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_s

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisSaver:
        return cls(redis.Redis.from_url(url), **kwargs)

    def _thread_key(self, thread_id: str) -> str:
        return f"{self.prefix}:{thread_id}"

    def _ns_keys(self, thread_id: str, ns: str) -> tuple[str, str, str]:
        base = f"{self.prefix}:{thread_id}:{ns}"
        return f"{base}:ids", f"{base}:checkpoints", f"{base}:writes"

    def _namespaces(self, thread_id: str) -> list[str]:
        members = cast(set[bytes], self.client.smembers(self._thread_key(thread_id)))
        return sorted(m.decode() for m in members)

    def _renew(self, pipe: Any, thread_id: str, namespaces: set[str]) -> None:
        pipe.expire(self._thread_key(thread_id), self.ttl_s)
        for ns in namespaces:
            for key in self._ns_keys(thread_id, ns):
                pipe.expire(key, self.ttl_s)

    def _pending_writes(self, thread_id: str, ns: str, checkpoint_id: str) -> list[PendingWrite]:
        _, _, writes_key = self._ns_keys(thread_id, ns)
        rows = []
        for _, raw in self.client.hscan_iter(writes_key, match=f"{checkpoint_id}{_SEP}*"):
            head, payload = _unpack(raw)
            rows.append((head["task_path"], head["task_id"], head["idx"], head["channel"], head["type"], payload))
        rows.sort(key=lambda r: writes_sort_key(r[0], r[1], r[2]))
        return [
            (task_id, channel, self.serde.loads_typed((type_, payload)))
            for _, task_id, _, channel, type_, payload in rows
        ]

    def _tuple(self, thread_id: str, ns: str, checkpoint_id: str, raw: bytes) -> CheckpointTuple:
        head, payload = _unpack(raw)
        parent = head.get("parent")
        return CheckpointTuple(
            config={"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}},
            checkpoint=self.serde.loads_typed((head["type"], payload)),
            metadata=cast(CheckpointMetadata, head.get("metadata") or {}),
            parent_config=(
                {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": parent}}
                if parent
                else None
            ),
            pending_writes=self._pending_writes(thread_id, ns, checkpoint_id),
        )

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id = str(config["configurable"]["thread_id"])
        ns = config["configurable"].get("checkpoint_ns", "")
        ids_key, checkpoints_key, _ = self._ns_keys(thread_id, ns)
        checkpoint_id = get_checkpoint_id(config)
        if checkpoint_id is None:
            newest = cast(list[bytes], self.client.zrevrange(ids_key, 0, 0))
            if not newest:
                return None
            checkpoint_id = newest[0].decode()
        raw = cast(bytes | None, self.client.hget(checkpoints_key, checkpoint_id))
        return None if raw is None else self._tuple(thread_id, ns, checkpoint_id, raw)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """A thread's checkpoints, newest first; ``config`` must name the thread (the analyst
        never lists across threads, and a scan of every thread would not scale)."""
        if config is None or "thread_id" not in config.get("configurable", {}):
            raise ValueError("RedisSaver.list needs a thread_id in config")
        thread_id = str(config["configurable"]["thread_id"])
        given_ns = config["configurable"].get("checkpoint_ns")
        namespaces = [given_ns] if given_ns is not None else self._namespaces(thread_id)
        below = get_checkpoint_id(before) if before else None
        candidates: list[tuple[str, str]] = []
        for ns in namespaces:
            ids_key, _, _ = self._ns_keys(thread_id, ns)
            high = f"({below}" if below else "+"
            ids = cast(list[bytes], self.client.zrevrangebylex(ids_key, high, "-"))
            candidates.extend((i.decode(), ns) for i in ids)
        candidates.sort(reverse=True)
        wanted = get_checkpoint_id(config)
        yielded = 0
        for checkpoint_id, ns in candidates:
            if limit is not None and yielded >= limit:
                return
            if wanted is not None and checkpoint_id != wanted:
                continue
            _, checkpoints_key, _ = self._ns_keys(thread_id, ns)
            raw = cast(bytes | None, self.client.hget(checkpoints_key, checkpoint_id))
            if raw is None:  # deleted between the two reads
                continue
            if filter and not all(_unpack(raw)[0].get("metadata", {}).get(k) == v for k, v in filter.items()):
                continue
            yielded += 1
            yield self._tuple(thread_id, ns, checkpoint_id, raw)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id = str(config["configurable"]["thread_id"])
        ns = config["configurable"].get("checkpoint_ns", "")
        type_, payload = self.serde.dumps_typed(checkpoint)
        header = {
            "type": type_,
            "parent": config["configurable"].get("checkpoint_id"),
            "metadata": get_checkpoint_metadata(config, metadata),
        }
        ids_key, checkpoints_key, _ = self._ns_keys(thread_id, ns)
        namespaces = set(self._namespaces(thread_id)) | {ns}
        with self.client.pipeline(transaction=True) as pipe:
            pipe.sadd(self._thread_key(thread_id), ns)
            pipe.hset(checkpoints_key, mapping={checkpoint["id"]: _pack(header, payload)})
            pipe.zadd(ids_key, {checkpoint["id"]: 0})
            self._renew(pipe, thread_id, namespaces)
            pipe.execute()
        return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint["id"]}}

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        thread_id = str(config["configurable"]["thread_id"])
        ns = str(config["configurable"].get("checkpoint_ns", ""))
        checkpoint_id = str(config["configurable"]["checkpoint_id"])
        _, _, writes_key = self._ns_keys(thread_id, ns)
        # Special channels (errors, interrupts) replace an earlier write; others keep the first.
        replace = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        namespaces = set(self._namespaces(thread_id)) | {ns}
        with self.client.pipeline(transaction=True) as pipe:
            pipe.sadd(self._thread_key(thread_id), ns)
            for i, (channel, value) in enumerate(writes):
                idx = WRITES_IDX_MAP.get(channel, i)
                type_, payload = self.serde.dumps_typed(value)
                header = {"channel": channel, "type": type_, "task_id": task_id, "task_path": task_path, "idx": idx}
                field = _SEP.join((checkpoint_id, task_path, task_id, str(idx)))
                # As a raw command: redis-py's stubs type HSETNX's value as str, and ours is bytes.
                pipe.execute_command("HSET" if replace else "HSETNX", writes_key, field, _pack(header, payload))
            self._renew(pipe, thread_id, namespaces)
            pipe.execute()

    def delete_thread(self, thread_id: str) -> None:
        thread_id = str(thread_id)
        keys = [self._thread_key(thread_id)]
        for ns in self._namespaces(thread_id):
            keys.extend(self._ns_keys(thread_id, ns))
        self.client.delete(*keys)
