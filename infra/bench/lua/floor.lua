-- The HTTP floor: the same request shape as a KV read (GET, token header) against the opt-in
-- no-op route, so the difference to kv_read.lua is the server's work, not the client's.
local lib = dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")
lib.token_header()
wrk.method = "GET"
wrk.path = "/v1/sys/coffer/floor"
done = lib.done
