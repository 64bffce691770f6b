import Inference
import LuaRuntime
import ModelIO

/// One tensor's gradient as a recipe holds it (`shears.Gradient`).
final class GradientBox {
    /// The tensor's name.
    let name: String
    /// Its shape.
    let shape: [Int]
    /// The values (the gradient, or the Fisher estimate).
    let values: TensorStorage
    /// The Fisher estimate of the same tensor (nil: not computed, or this is it).
    let fisher: TensorStorage?

    init(name: String, shape: [Int], values: TensorStorage, fisher: TensorStorage?) {
        self.name = name
        self.shape = shape
        self.values = values
        self.fisher = fisher
    }
}

extension ShearsModule {
    /// The gate units `m:gradients{ wrt = ... }` accepts, by their Lua names.
    private static let gateUnits: [String: GateUnit] = [
        "heads": .heads, "kv_groups": .kvGroups, "channels": .channels, "blocks": .blocks,
    ]

    /// `m:gradients{ calibration = c, wrt = "weights", fisher = false, order, keep_activations,
    /// max_memory }` →
    /// `{ [name] = shears.Gradient }, loss`; with `wrt` = `heads`, `kv_groups`, `channels` or
    /// `blocks` (and optional 0-based `layers` for the first three) → per layer (index layer + 1)
    /// a list of ∂L/∂g per unit (empty for a layer not chosen), or one number per block, and the loss.
    func gradients(_ model: Model, _ call: LuaCall) throws -> [LuaValue] {
        let options = try call.table(2)
        try options.checkFields(allowed: [
            "calibration", "wrt", "fisher", "order", "max_memory", "layers", "keep_activations",
        ])
        guard let index = try options.handleIndex("calibration") else {
            throw LuaArgumentError(argument: 2, "field 'calibration' is required (a shears.calibration{...} set)")
        }
        let windows = try call.handle(Int(index), as: RecipeHandles.calibration).requireWindows(
            argument: 2, for: "m:gradients"
        ).windows
        let wrt = try options.string("wrt", default: "weights")
        let gradients = ModelGradients(model: model, cancellation: cancellation)
        if let unit = Self.gateUnits[wrt] {
            for field in ["fisher", "order", "max_memory", "keep_activations"]
            where options.typeName(of: field) != "nil" {
                throw LuaArgumentError(argument: 2, "field '\(field)' applies to wrt = \"weights\" only")
            }
            return try gates(gradients, unit: unit, wrt: wrt, windows: windows, layers: options.optionalTable("layers"))
        }
        guard wrt == "weights" else {
            throw LuaArgumentError(
                argument: 2,
                "field 'wrt' must be one of 'weights', 'heads', 'kv_groups', 'channels', 'blocks', got '\(wrt)'")
        }
        if options.typeName(of: "layers") != "nil" {
            throw LuaArgumentError(argument: 2, "field 'layers' applies to unit gates only (wrt = \"heads\", ...)")
        }
        let fisher = try options.boolean("fisher", default: false)
        let order = try options.optionalString("order").map { text in
            guard let order = WeightGradientOrder(rawValue: text) else {
                throw LuaArgumentError(argument: 2, "field 'order' must be 'layers' or 'windows', got '\(text)'")
            }
            return order
        }
        let keep = try options.boolean("keep_activations", default: false)
        let limit = try Self.memoryLimit(options, argument: 2) ?? MemoryBudget.available(beside: model)
        var handles: [String: LuaValue] = [:]
        let loss: Double
        do {
            loss = try gradients.weights(
                windows: windows, fisher: fisher, order: order, keepActivations: keep, memoryLimit: limit
            ) { tensor in
                handles[tensor.name] = .handle(
                    GradientBox(
                        name: tensor.name, shape: tensor.shape, values: tensor.gradient, fisher: tensor.squared),
                    as: RecipeHandles.gradient)
            }
        } catch let error as InferenceError {
            if error.cancellation != nil { throw LuaScriptError("gradients: \(error.message)") }
            throw LuaArgumentError(argument: 2, error.message)
        }
        return [.table(handles), .number(loss)]
    }

    /// Unit-gate gradients of every layer (or of `layers`), as per-layer lists.
    private func gates(
        _ gradients: ModelGradients, unit: GateUnit, wrt: String, windows: [[Int32]], layers: LuaTableArgument?
    ) throws -> [LuaValue] {
        let chosen = try layers?.integers()
        if unit == .blocks, chosen != nil {
            throw LuaArgumentError(
                argument: 2, "field 'layers' does not apply to wrt = \"\(wrt)\" (every block is scored)")
        }
        let result: GateGradients
        do {
            result = try gradients.gates(windows: windows, units: [unit], layers: chosen)
        } catch let error as InferenceError {
            if error.cancellation != nil { throw LuaScriptError("gradients: \(error.message)") }
            throw LuaArgumentError(argument: 2, error.message)
        }
        let perLayer: [LuaValue] = result.layers.map { gates in
            switch unit {
            case .blocks: .number(gates.block)
            case .heads: .array(gates.heads.map { .number($0) })
            case .kvGroups: .array(gates.kvGroups.map { .number($0) })
            case .channels: .array(gates.channels.map { .number($0) })
            }
        }
        return [.array(perLayer), .number(result.loss)]
    }

    /// The `max_memory` field of the table at `argument`: bytes as a number, or a size such as
    /// "8G" (nil when absent).
    static func memoryLimit(_ options: LuaTableArgument, argument: Int) throws -> Int? {
        if options.typeName(of: "max_memory") == "number" {
            let bytes = try options.optionalNumber("max_memory")!
            guard bytes > 0, bytes < 0x1p62 else {
                throw LuaArgumentError(argument: argument, "field 'max_memory' must be a positive size, got \(bytes)")
            }
            return Int(bytes)
        }
        guard let text = try options.optionalString("max_memory") else { return nil }
        guard let bytes = MemoryBudget.parse(text) else {
            throw LuaArgumentError(
                argument: argument, "field 'max_memory' must be a size such as '8G' or '512M', got '\(text)'")
        }
        return bytes
    }

    /// Registers `shears.Gradient`.
    func registerGradient(_ runtime: LuaRuntime) {
        runtime.register(
            RecipeHandles.gradient,
            methods: [
                "norm": { box, _ in
                    [.number(box.values.buffer.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())]
                },
                "fisher": { box, _ in
                    guard let fisher = box.fisher else { return [.nil] }
                    return [
                        .handle(
                            GradientBox(name: box.name, shape: box.shape, values: fisher, fisher: nil),
                            as: RecipeHandles.gradient)
                    ]
                },
                "save": { box, call in
                    let path = try call.string(2)
                    let writer = try SafetensorsStreamWriter(
                        path: path, layout: [(box.name, box.shape)], metadata: ["shears.version": ShearsVersion.number])
                    try writer.append(box.name, UnsafeBufferPointer(box.values.buffer))
                    try writer.commit()
                    return []
                },
            ],
            properties: [
                "name": { .string($0.name) },
                "shape": { .array($0.shape.map { .integer($0) }) },
                "numel": { .integer($0.values.count) },
            ],
            describe: { "gradient of \($0.name) \($0.shape.map(String.init).joined(separator: "x"))" }
        )
    }
}
