-- Transit encrypt of a fixed 32-byte plaintext under the seeded aes256-gcm96 key "bench".
-- Static request: wrk's fast path, no Lua per request.
local lib = dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")
lib.token_header()
wrk.method = "POST"
wrk.path = "/v1/transit/encrypt/bench"
wrk.headers["Content-Type"] = "application/json"
-- base64("coffer benchmark plaintext 32 by")
wrk.body = '{"plaintext":"Y29mZmVyIGJlbmNobWFyayBwbGFpbnRleHQgMzIgYnk="}'
done = lib.done
