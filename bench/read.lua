-- wrk script: GET Observation/{id} for ids listed one per line in bench/.obs_ids.txt
local ids = {}
for line in io.lines("bench/.obs_ids.txt") do ids[#ids + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/fhir/Observation/" .. ids[(i % #ids) + 1])
end
