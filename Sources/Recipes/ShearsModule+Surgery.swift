import LuaRuntime
import ModelIO

extension ShearsModule {
    /// `m:remove{...}`: structural surgery on the model in place (indices 0-based, as layers are
    /// everywhere in recipes). One of
    /// `{ blocks = {20, 21} }`, `{ layer = 5, heads = {2, 5, 8} }`, `{ layer = 9, kv_groups = {1} }`,
    /// `{ layer = 7, channels = {...} }`, `{ layer = 25, attention = true }`, `{ layer = 25, ffn = true }`,
    /// `{ hidden = {...} }` (hidden channels, in every layer).
    static func remove(_ model: Model, _ call: LuaCall) throws -> [LuaValue] {
        let options = try call.table(2)
        try options.checkFields(allowed: [
            "blocks", "hidden", "layer", "heads", "kv_groups", "channels", "attention", "ffn",
        ])
        let units = ["blocks", "hidden", "heads", "kv_groups", "channels", "attention", "ffn"].filter {
            options.typeName(of: $0) != "nil"
        }
        guard units.count == 1 else {
            throw LuaArgumentError(
                argument: 1,
                units.isEmpty
                    ? "say what to remove: blocks = {...}, hidden = {...}, or layer = N with heads, kv_groups, channels, attention or ffn"
                    : "remove one kind of unit per call, got \(units.joined(separator: " and "))")
        }
        func list(_ name: String) throws -> [Int] {
            guard let table = try options.optionalTable(name) else {
                throw LuaArgumentError(argument: 1, "field '\(name)' must be a list of 0-based indices")
            }
            return try table.integers()
        }
        func flag(_ name: String) throws -> Bool {
            guard try options.boolean(name) else {
                throw LuaArgumentError(argument: 1, "field '\(name)' can only be true (omit it to keep the \(name))")
            }
            return true
        }
        let removal: StructuralRemoval
        if units[0] == "blocks" || units[0] == "hidden" {
            if options.typeName(of: "layer") != "nil" {
                throw LuaArgumentError(
                    argument: 1, "\(units[0]) = {...} applies to every layer; drop the field 'layer'")
            }
            removal = units[0] == "blocks" ? .blocks(try list("blocks")) : .hiddenChannels(try list("hidden"))
        } else {
            let layer = try options.integer("layer")
            switch units[0] {
            case "heads": removal = .queryHeads(layer: layer, try list("heads"))
            case "kv_groups": removal = .kvGroups(layer: layer, try list("kv_groups"))
            case "channels": removal = .ffnChannels(layer: layer, try list("channels"))
            case "attention":
                _ = try flag("attention")
                removal = .attention(layer: layer)
            default:
                _ = try flag("ffn")
                removal = .ffn(layer: layer)
            }
        }
        do { try model.remove(removal) } catch {
            throw LuaArgumentError(argument: 1, "\(error.item.map { "\($0): " } ?? "")\(error.message)")
        }
        return []
    }

    /// `m:layer(i)`: the shape of layer `i` (0-based) as `{ heads, kv_heads, ffn, attention, mlp }`.
    static func layerShape(_ model: Model, _ call: LuaCall) throws -> [LuaValue] {
        let layer = try call.integer(2)
        guard (0..<model.config.layerCount).contains(layer) else {
            throw LuaArgumentError(argument: 1, "layer \(layer) is out of range 0...\(model.config.layerCount - 1)")
        }
        let shape = model.config.layers[layer]
        return [
            .table([
                "heads": .integer(shape.headCount), "kv_heads": .integer(shape.kvHeadCount),
                "ffn": .integer(shape.ffnSize),
                "attention": .boolean(shape.hasAttention), "mlp": .boolean(shape.hasFFN),
            ])
        ]
    }

    /// A per-layer count as Lua sees it: one integer when every layer has it, else a list with
    /// layer `i`'s value at index `i + 1`.
    static func perLayer(_ config: LlamaConfig, _ value: (LayerShape) -> Int) -> LuaValue {
        let values = config.layers.map(value)
        if let first = values.first, values.allSatisfy({ $0 == first }) { return .integer(first) }
        return .array(values.map { .integer($0) })
    }
}
