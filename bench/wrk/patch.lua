-- PATCH one API user: a new name each time (so every request changes it) and the same three
dofile("bench/wrk/report.lua")
-- labels, which exist after the first request.
local key = os.getenv("KEY")
local labels = '[{"name":"bench-1","color":"#00FF01"},{"name":"bench-2","color":"#00FF02"},'
  .. '{"name":"bench-3","color":"#00FF03"}]'
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"name":"bench-%d-%d","labels":%s}', counter, math.random(1, 1000000), labels)
  return wrk.format("PATCH", nil, {["Authorization"] = "JWT " .. key, ["Content-Type"] = "application/json"}, body)
end
