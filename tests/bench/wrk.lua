-- wrk script of make bench (tests/bench/httpbench.py).
-- Environment: BENCH_METHOD (GET), BENCH_AUTH (an Authorization value),
-- BENCH_BODIES (a file of request bodies, one a line, sent in turn as
-- application/json).  Prints one JSON line after the run: requests/s,
-- latency percentiles in microseconds, and the error counts.
local method = os.getenv("BENCH_METHOD") or "GET"
local auth = os.getenv("BENCH_AUTH")
local bodies_file = os.getenv("BENCH_BODIES")
local bodies = {}
local n = 0

function init(args)
	if bodies_file then
		for line in io.lines(bodies_file) do
			if #line > 0 then
				bodies[#bodies + 1] = line
			end
		end
	end
	-- Each thread starts at its own place in the list.
	n = math.random(#bodies > 0 and #bodies or 1)
end

function request()
	local h = {}
	if auth then
		h["Authorization"] = auth
	end
	if #bodies == 0 then
		return wrk.format(method, nil, h)
	end
	n = n % #bodies + 1
	h["Content-Type"] = "application/json"
	return wrk.format(method, nil, h, bodies[n])
end

-- errors.status counts the answers outside 2xx/3xx.
function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format('BENCHJSON {"requests": %d, "duration_us": %d, ' ..
	    '"rps": %.1f, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
	    '"mean_us": %.1f, "connect_errors": %d, "read_errors": %d, ' ..
	    '"write_errors": %d, "timeouts": %d, "status_errors": %d}\n',
	    summary.requests, summary.duration,
	    summary.requests / (summary.duration / 1e6),
	    latency:percentile(50), latency:percentile(90),
	    latency:percentile(99), latency.mean, e.connect, e.read, e.write,
	    e.timeout, e.status))
end
