-- wrk script for the saturation phase of bench/quiz_load.py: durable answer saves.
--
-- Environment:
--   SAVE_LUA_DATA  tab-separated file, one (learner, attempt, question) per line:
--                  attempt_id  question_id  cookie  csrf  lease  option1 option2 option3
--                  ordered question-major (all learners' 1st question, then the 2nd, ...).
--   SAVE_LUA_OUT   where done() writes the summary and every acknowledged save.
--
-- Thread k of n takes lines k, k+n, k+2n, ...; every request() takes the next line of its
-- slice that has no request in flight, so requests that are in flight together belong to
-- different (learner, question) pairs, mostly of different learners (each with its own
-- session cookie, CSRF token and attempt lease), and the saves of one pair never overtake
-- each other. Each visit of a line picks the next of its three options, so every save
-- changes the answer: a real UPDATE plus an answer_events INSERT, committed before the 200.
-- response() reads (attempt, question, option) from the reply body, frees the line and
-- records the last acknowledged option and the number of acknowledgements per pair;
-- quiz_load.py checks them in the database. A line whose request got no 200 (error,
-- timeout) stays busy: it is never sent again, so its state in the database stays exact.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local reqs = {}      -- reqs[i][o]: the pre-built request for line i, option o
local visits = {}
local busy = {}      -- busy[i]: a request of line i is in flight
local line_of = {}   -- "attempt:question" -> i
local n = 0
local pos = 0
-- "attempt:question" -> last acknowledged option / number of acknowledgements; read by
-- done(). Flat tables only: wrk's thread:get() copies nested tables wrongly (segfault).
acked_option = {}
acked_count = {}
status_counts = {}   -- status -> count
bad_bodies = 0

function init(args)
   local nthreads = tonumber(os.getenv("SAVE_LUA_THREADS") or "1")
   local path = os.getenv("SAVE_LUA_DATA")
   local index = 0
   for line in io.lines(path) do
      if index % nthreads == tid then
         local f = {}
         for field in string.gmatch(line, "[^\t]+") do
            table.insert(f, field)
         end
         local aid, qid, cookie, csrf, lease = f[1], f[2], f[3], f[4], f[5]
         local headers = {
            ["Cookie"] = "examroom_session=" .. cookie,
            ["X-CSRF-Token"] = csrf,
            ["Content-Type"] = "application/json",
         }
         local url = "/api/attempts/" .. aid .. "/answers/" .. qid
         local built = {}
         for o = 6, #f do
            local body = '{"option_id": ' .. f[o] .. ', "lease": "' .. lease .. '"}'
            table.insert(built, wrk.format("PUT", url, headers, body))
         end
         n = n + 1
         reqs[n] = built
         visits[n] = 0
         busy[n] = false
         line_of[aid .. ":" .. qid] = n
      end
      index = index + 1
   end
end

function request()
   pos = pos % n + 1
   local tries = 1
   while busy[pos] and tries < n do
      pos = pos % n + 1
      tries = tries + 1
   end
   busy[pos] = true
   local v = visits[pos]
   visits[pos] = v + 1
   local built = reqs[pos]
   return built[v % #built + 1]
end

function response(status, headers, body)
   status_counts[status] = (status_counts[status] or 0) + 1
   if status == 200 then
      local aid = string.match(body, '"attempt_id":%s*(%d+)')
      local qid = string.match(body, '"question_id":%s*(%d+)')
      local oid = string.match(body, '"option_id":%s*(%d+)')
      if aid and qid and oid then
         local key = aid .. ":" .. qid
         local i = line_of[key]
         if i then
            busy[i] = false
         end
         acked_option[key] = tonumber(oid)
         acked_count[key] = (acked_count[key] or 0) + 1
      else
         bad_bodies = bad_bodies + 1
      end
   end
end

function done(summary, latency, requests)
   local out = assert(io.open(os.getenv("SAVE_LUA_OUT"), "w"))
   local e = summary.errors
   out:write(string.format("duration_us %d\n", summary.duration))
   out:write(string.format("requests %d\n", summary.requests))
   out:write(string.format(
      "errors connect=%d read=%d write=%d status=%d timeout=%d\n",
      e.connect, e.read, e.write, e.status, e.timeout))
   for _, p in ipairs({50, 90, 99, 99.9}) do
      out:write(string.format("latency_p%s_us %d\n", p, latency:percentile(p)))
   end
   out:write(string.format("latency_max_us %d\n", latency.max))
   out:write(string.format("latency_mean_us %.1f\n", latency.mean))
   for _, thread in ipairs(threads) do
      out:write(string.format("bad_bodies %d\n", thread:get("bad_bodies")))
      for status, count in pairs(thread:get("status_counts")) do
         out:write(string.format("status %d %d\n", status, count))
      end
      local counts = thread:get("acked_count")
      for key, option in pairs(thread:get("acked_option")) do
         out:write(string.format("ack %s %d %d\n", key, option, counts[key]))
      end
   end
   out:close()
end
