-- KV v2 write (new version) of a random key out of BENCH_WRITE_KEYS under secret/bench/w-*,
-- with a fixed 64-byte value: a mix of first writes and version bumps, as real traffic is.
local lib = dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")
lib.token_header()
wrk.headers["Content-Type"] = "application/json"
local n = tonumber(os.getenv("BENCH_WRITE_KEYS") or "10000")
local body = '{"data":{"value":"' .. string.rep("v", 64) .. '"}}'
local reqs = {}

-- Each wrk thread gets its own (fixed) random seed: without it every thread would walk the
-- same key sequence in lockstep.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed(seed or 1)
  for i = 1, n do
    reqs[i] = wrk.format("POST", "/v1/secret/data/bench/w-" .. i, nil, body)
  end
end

function request()
  return reqs[math.random(n)]
end

done = lib.done
