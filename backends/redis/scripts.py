"""The two Lua scripts, and how their arguments and replies are packed.

Each script works inside one hash tag (see keyspace.py) and runs
atomically on the server, which gives ``read`` its snapshot and
``commit`` its all-or-nothing.  The ``#!lua`` line (Redis >= 7) makes
the server refuse a writing script up front when out of memory, rather
than half way through.
"""

from __future__ import annotations

from collections.abc import Sequence

from macvlan_ipam.core.errors import StoreError
from macvlan_ipam.core.kv import (
    Absent,
    Condition,
    Entry,
    Get,
    Operation,
    Put,
    Read,
    Scan,
)

_COMMON = """#!lua
local tag = ARGV[1]
local function entry_key(key)
  return "{" .. tag .. "}" .. string.sub(key, #tag + 1)
end
"""

# KEYS[1] index.  ARGV[1] tag, then per request either
#   "get", key   or   "scan", min, max, limit, keys_only ("1"/"0").
# Replies one flat {key, value, version, ...} list per request.  Index
# members whose hash has expired are dropped on the way.
READ = (
    _COMMON
    + """
local function scan(min, max, limit, keys_only)
  local found, count, cursor = {}, 0, min
  while count < limit do
    local want = limit - count
    local keys = redis.call("ZRANGEBYLEX", KEYS[1], cursor, max,
                            "LIMIT", 0, want)
    for _, key in ipairs(keys) do
      local value, version
      if keys_only == "1" then
        value = ""
        version = redis.call("HGET", entry_key(key), "version")
      else
        local got = redis.call("HMGET", entry_key(key), "value", "version")
        value, version = got[1], got[2]
      end
      if version then
        found[#found + 1] = key
        found[#found + 1] = value
        found[#found + 1] = version
        count = count + 1
      else
        redis.call("ZREM", KEYS[1], key)
      end
    end
    if #keys < want then break end
    cursor = "(" .. keys[#keys]
  end
  return found
end

local replies, i = {}, 2
while i <= #ARGV do
  if ARGV[i] == "get" then
    local key = ARGV[i + 1]
    local got = redis.call("HMGET", entry_key(key), "value", "version")
    if got[2] then
      replies[#replies + 1] = {key, got[1], got[2]}
    else
      replies[#replies + 1] = {}
    end
    i = i + 2
  else
    replies[#replies + 1] = scan(ARGV[i + 1], ARGV[i + 2],
                                 tonumber(ARGV[i + 3]), ARGV[i + 4])
    i = i + 5
  end
end
return replies
"""
)

# KEYS[1] index, KEYS[2] version counter.  ARGV[1] tag, ARGV[2] the
# number of conditions, each "absent"|"unchanged", key, version; then
# operations, each "put"|"delete", key, value, ttl in ms ("" for none).
# Replies 1 when applied, 0 when a condition failed (nothing written).
COMMIT = (
    _COMMON
    + """
local i = 3
for _ = 1, tonumber(ARGV[2]) do
  local current = redis.call("HGET", entry_key(ARGV[i + 1]), "version")
  if ARGV[i] == "absent" then
    if current then return 0 end
  elseif current ~= ARGV[i + 2] then
    return 0
  end
  i = i + 3
end
if i > #ARGV then return 1 end

local version = redis.call("INCR", KEYS[2])
while i <= #ARGV do
  local key = ARGV[i + 1]
  redis.call("DEL", entry_key(key))
  if ARGV[i] == "put" then
    redis.call("HSET", entry_key(key), "value", ARGV[i + 2],
               "version", version)
    if ARGV[i + 3] ~= "" then
      redis.call("PEXPIRE", entry_key(key), ARGV[i + 3])
    end
    redis.call("ZADD", KEYS[1], 0, key)
  else
    redis.call("ZREM", KEYS[1], key)
  end
  i = i + 4
end
return 1
"""
)

Arg = str | bytes | int


def read_args(tag: str, requests: Sequence[Read]) -> list[Arg]:
    args: list[Arg] = [tag]
    for request in requests:
        if isinstance(request, Get):
            args += ["get", request.key]
        else:
            low, high = _lex_range(request)
            keys_only = "1" if request.keys_only else "0"
            args += ["scan", low, high, max(request.limit, 0), keys_only]
    return args


def commit_args(
    tag: str,
    conditions: Sequence[Condition],
    operations: Sequence[Operation],
) -> list[Arg]:
    args: list[Arg] = [tag, len(conditions)]
    for cond in conditions:
        if isinstance(cond, Absent):
            args += ["absent", cond.key, ""]
        else:
            args += ["unchanged", cond.key, cond.version]
    for op in operations:
        if isinstance(op, Put):
            args += ["put", op.key, op.value, _millis(op.ttl)]
        else:
            args += ["delete", op.key, "", ""]
    return args


def parse_read(reply: object, count: int) -> list[list[Entry]]:
    """The script's reply as one list of entries per request."""
    if not isinstance(reply, list) or len(reply) != count:
        raise StoreError("redis: unexpected reply to the read script")
    return [_entries(flat) for flat in reply]


def _entries(flat: object) -> list[Entry]:
    if not isinstance(flat, list) or len(flat) % 3:
        raise StoreError("redis: unexpected reply to the read script")
    return [
        Entry(key.decode(), value, int(version))
        for key, value, version in zip(
            flat[0::3], flat[1::3], flat[2::3], strict=True
        )
    ]


def _lex_range(scan: Scan) -> tuple[bytes, bytes]:
    """ZRANGEBYLEX bounds: keys starting with the prefix, after start.

    0xFF never occurs in UTF-8, so ``prefix + 0xFF`` bounds the prefix.
    """
    prefix = scan.prefix.encode()
    if scan.start_after is not None and scan.start_after >= scan.prefix:
        low = b"(" + scan.start_after.encode()
    else:
        low = b"[" + prefix
    return low, b"(" + prefix + b"\xff"


def _millis(ttl: float | None) -> str:
    return "" if ttl is None else str(max(1, round(ttl * 1000)))
