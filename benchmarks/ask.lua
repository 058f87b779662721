-- wrk script for load_web.py: GET /api/ask with the questions of the file named by
-- ASK_QUESTIONS (one URL-encoded question a line), in turn; counts status codes and prints
-- figures as "name value" lines for load_web.py to read.
local questions = {}
for line in io.lines(os.getenv("ASK_QUESTIONS")) do
  questions[#questions + 1] = line
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  statuses = {}
  counter = math.random(#questions)
end

function request()
  counter = counter + 1
  return wrk.format("GET", "/api/ask?top_k=3&q=" .. questions[(counter % #questions) + 1])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      total[code] = (total[code] or 0) + n
    end
  end
  for code, n in pairs(total) do
    io.write(string.format("status_%d %d\n", code, n))
  end
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("p%d_ms %.1f\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("max_ms %.1f\nrequests %d\nduration_s %.2f\n", latency.max / 1000, summary.requests,
                         summary.duration / 1e6))
  local e = summary.errors
  io.write(string.format("errors_connect %d\nerrors_read %d\nerrors_write %d\nerrors_timeout %d\n",
                         e.connect, e.read, e.write, e.timeout))
end
