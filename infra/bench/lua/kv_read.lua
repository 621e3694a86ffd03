-- KV v2 read of a random seeded key (bench/key-1 .. bench/key-N under secret/).
-- Requests are pre-formatted in init() so the client spends one table lookup per request.
local lib = dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")
lib.token_header()
local n = tonumber(os.getenv("BENCH_KEYS") or "1000")
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
    reqs[i] = wrk.format("GET", "/v1/secret/data/bench/key-" .. i)
  end
end

function request()
  return reqs[math.random(n)]
end

done = lib.done
