-- Small helpers for printing recipe results in a greppable form: `key: value` lines.
local report = {}

--- Prints `label: value`, numbers with 4 decimals, and selected fields of an optional details table.
---@param label string
---@param value any
---@param details table|nil
function report.line(label, value, details)
    local text = type(value) == "number" and math.type(value) == "float" and string.format("%.4f", value) or tostring(value)
    if details and details.chunks then
        text = text .. string.format("  (%d chunks x %d tokens, %.1f s)", details.chunks, details.seqlen, details.seconds)
    end
    print(label .. ": " .. text)
end

return report
