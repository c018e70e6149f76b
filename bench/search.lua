-- wrk script: Observation?patient=X&code=Y&date=geZ&_count=50 over patients listed in bench/.patient_ids.txt
local ids = {}
for line in io.lines("bench/.patient_ids.txt") do ids[#ids + 1] = line end
local codes = {"8867-4", "40443-4", "44261-6"}
local i = 0
request = function()
  i = i + 1
  local path = "/fhir/Observation?patient=" .. ids[(i % #ids) + 1] .. "&code=http://loinc.org|" ..
    codes[(i % 3) + 1] .. "&date=ge2025-03-01&_count=50"
  return wrk.format("GET", path)
end
