import PluginAPI
import PruningEngine

/// What a plugin criterion is (`shears_criterion_descriptor`), copied out of the plugin at load.
public struct PluginCriterionDescriptor: Sendable, Equatable {
    /// Unique within the plugin; used in recipes (`p:criterion("id")`).
    public let id: String
    /// Human-readable name.
    public let name: String
    /// The criterion's own version.
    public let version: String
    /// What it computes and its source.
    public let description: String
    /// The calibration statistics it reads.
    public let statistics: StatisticsRequirement
    /// True when `score` and `select` may run concurrently on one instance.
    public let isThreadSafe: Bool
    /// True for a unit criterion (ABI 1.1 `SHEARS_CRITERION_UNITS`): it scores query heads, KV
    /// groups or FFN channels through `score_units`.
    public let isUnitCriterion: Bool
    /// True when a unit criterion reads the per-window gate gradients.
    public let readsGateGradients: Bool
    /// The parameters it accepts, in declaration order.
    public let parameters: [PluginParameterDeclaration]
    /// `struct_size` of the plugin's descriptor.
    public let structSize: Int

    /// The ABI's statistics bits and the engine's requirements, in the order `shears plugins` lists them.
    static let statisticsBits: [(bit: shears_statistics, requirement: StatisticsRequirement, name: String)] = [
        (shears_statistics(SHEARS_STATISTICS_SQUARED_NORMS), .squaredNorms, "squared_norms"),
        (shears_statistics(SHEARS_STATISTICS_MOMENTS), .moments, "moments"),
        (shears_statistics(SHEARS_STATISTICS_GRAM), .gram, "gram"),
    ]

    /// The step options of a unit criterion, which its parameters may not be named.
    public static let unitStepOptions: Set<String> = ["unit", "ratio", "layers", "iterative", "compensation", "lambda"]

    /// The names of the statistics it reads (`squared_norms`, `moments`, `gram`, `gate_gradients`).
    public var statisticsNames: [String] {
        Self.statisticsBits.filter { statistics.contains($0.requirement) }.map(\.name)
            + (readsGateGradients ? ["gate_gradients"] : [])
    }

    /// Copies and checks descriptor `raw` of the plugin at `plugin`.
    ///
    /// - Throws: `PluginError` for a short struct, a missing or badly spelled id, unknown
    ///   statistics or flag bits, too many parameters, a parameter list of unequal or oversized
    ///   `struct_size`s, or a bad parameter declaration; a unit criterion reading statistics other
    ///   than squared norms and gate gradients or naming a parameter after a unit step option,
    ///   and gate gradients declared by a criterion of weights.
    package init(_ raw: UnsafePointer<shears_criterion_descriptor>, plugin: String) throws(PluginError) {
        let structSize = Int(raw.pointee.struct_size)
        guard structSize >= PluginABI.minimumDescriptorSize else {
            throw PluginError(
                plugin: plugin,
                "a criterion descriptor has struct_size \(structSize), smaller than the minimum \(PluginABI.minimumDescriptorSize)"
            )
        }
        let descriptor = PluginABI.copy(raw, structSize: structSize, into: shears_criterion_descriptor())
        self.structSize = structSize
        guard let idPointer = descriptor.id else {
            throw PluginError(plugin: plugin, "a criterion descriptor has no id")
        }
        let id = String(cString: idPointer)
        guard PluginNames.isCriterionID(id) else {
            throw PluginError(plugin: plugin, criterion: id, "the id is not made of [a-z0-9_.-]")
        }
        self.id = id
        name = descriptor.name.map { String(cString: $0) } ?? id
        version = descriptor.version.map { String(cString: $0) } ?? ""
        description = descriptor.description.map { String(cString: $0) } ?? ""
        var statistics: StatisticsRequirement = []
        let gateBit = shears_statistics(SHEARS_STATISTICS_GATE_GRADIENTS)
        var unknown = descriptor.statistics & ~gateBit
        for entry in Self.statisticsBits where descriptor.statistics & entry.bit != 0 {
            statistics.insert(entry.requirement)
            unknown &= ~entry.bit
        }
        guard unknown == 0 else {
            throw PluginError(
                plugin: plugin, criterion: id, "declares unknown statistics bits 0x\(String(unknown, radix: 16))")
        }
        self.statistics = statistics
        let threadSafe = shears_criterion_flags(SHEARS_CRITERION_THREAD_SAFE)
        let units = shears_criterion_flags(SHEARS_CRITERION_UNITS)
        guard descriptor.flags & ~(threadSafe | units) == 0 else {
            throw PluginError(
                plugin: plugin, criterion: id,
                "declares unknown flag bits 0x\(String(descriptor.flags & ~(threadSafe | units), radix: 16))")
        }
        isThreadSafe = descriptor.flags & threadSafe != 0
        isUnitCriterion = descriptor.flags & units != 0
        readsGateGradients = descriptor.statistics & gateBit != 0
        if isUnitCriterion {
            guard statistics.subtracting(.squaredNorms).isEmpty else {
                throw PluginError(
                    plugin: plugin, criterion: id,
                    "a unit criterion receives squared_norms and gate_gradients only, not moments or gram")
            }
        } else if readsGateGradients {
            throw PluginError(
                plugin: plugin, criterion: id,
                "declares gate_gradients, which only unit criteria (SHEARS_CRITERION_UNITS) receive")
        }
        var parameters: [PluginParameterDeclaration] = []
        let count = Int(descriptor.parameter_count)
        guard count <= PluginABI.maximumParameterCount else {
            throw PluginError(
                plugin: plugin, criterion: id,
                "declares \(count) parameters, more than the maximum \(PluginABI.maximumParameterCount)")
        }
        if count > 0 {
            guard let list = descriptor.parameters else {
                throw PluginError(plugin: plugin, criterion: id, "declares \(count) parameters but gives no list")
            }
            // The list is an array of the plugin's struct: read at the stride of its struct_size,
            // which every entry must share.
            let base = UnsafeRawPointer(list)
            let stride = Int(base.loadUnaligned(as: UInt32.self))
            guard stride <= PluginABI.maximumParameterStructSize else {
                throw PluginError(
                    plugin: plugin, criterion: id,
                    "a parameter descriptor has struct_size \(stride), larger than the maximum \(PluginABI.maximumParameterStructSize)"
                )
            }
            for index in 0..<count {
                let entry = base + index * stride
                let size = Int(entry.loadUnaligned(as: UInt32.self))
                guard size == stride else {
                    throw PluginError(
                        plugin: plugin, criterion: id,
                        "parameter descriptor \(index) has struct_size \(size), not \(stride) like the first (all entries of the list must have one size)"
                    )
                }
                let declaration = try PluginParameterDeclaration(entry, plugin: plugin, criterion: id)
                if isUnitCriterion, Self.unitStepOptions.contains(declaration.name) {
                    throw PluginError(
                        plugin: plugin, criterion: id,
                        "parameter name '\(declaration.name)' is reserved for the unit step's own option")
                }
                guard !parameters.contains(where: { $0.name == declaration.name }) else {
                    throw PluginError(plugin: plugin, criterion: id, "declares parameter '\(declaration.name)' twice")
                }
                parameters.append(declaration)
            }
        }
        self.parameters = parameters
    }
}
