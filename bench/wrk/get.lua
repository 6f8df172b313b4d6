-- GET one path with the benchmark key (run from the repository root): `KEY=... wrk -s bench/wrk/get.lua URL`.
dofile("bench/wrk/report.lua")
local key = os.getenv("KEY")
request = function()
  return wrk.format("GET", nil, {["Authorization"] = "JWT " .. key})
end
