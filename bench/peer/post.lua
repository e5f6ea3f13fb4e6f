-- wrk script of `python -m bench peer`'s write rows: POST a JSON body to the paths listed in a file, in turn.
-- wrk -s post.lua URL -- <paths file> <body file> <X-API-Key>
-- Each wrk thread starts at its own place in the list, so concurrent requests rarely touch the same row.
local paths, body, key = {}, "", ""
local threads = 0

function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  local file = assert(io.open(args[2], "r"))
  body = file:read("*a")
  file:close()
  key = args[3]
  index = offset % #paths
end

function request()
  index = index % #paths + 1
  return wrk.format("POST", paths[index], { ["Content-Type"] = "application/json", ["X-API-Key"] = key }, body)
end
