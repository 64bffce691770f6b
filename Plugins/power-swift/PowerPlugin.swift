// The activation-power example plugin, written in Swift to show that the Shears plugin ABI does not
// care about the implementation language: one `@_cdecl` entry, C structs built from static
// strings, plain C function pointers, no Swift error or trap crossing the boundary.
import PluginAPI
import Synchronization

/// The plugin's exported entry (`shears_plugin_get_entry`): the one symbol the library exports.
///
/// The entry and descriptors are built once, by Swift's thread-safe global initialisation, on the
/// first call (one allocation); later calls return the same pointer.
@_cdecl("shears_plugin_get_entry")
public func shearsPluginGetEntry() -> UnsafePointer<shears_plugin_entry> {
    PowerPlugin.entry
}

/// Static storage and the C callbacks of the plugin.
enum PowerPlugin {
    /// The host vtable from the latest `init` (as a bit pattern), for `create`. A host that loads
    /// this file twice shares one copy of these globals (dlopen counts references), so loads are
    /// counted and every instance keeps the vtable it was created with.
    static let latestHost = Atomic<UInt>(0)
    /// Loads minus deinits.
    static let loads = Atomic<Int>(0)

    /// The host vtable for `create`, or nil outside init…deinit.
    static var host: UnsafePointer<shears_host>? {
        UnsafePointer(bitPattern: latestHost.load(ordering: .acquiring))
    }

    /// The criterion id used in recipes.
    static let criterionID: StaticString = "activation_power"

    /// The entry, allocated once and never freed (it must outlive every call into the library).
    nonisolated(unsafe) static let entry: UnsafePointer<shears_plugin_entry> = {
        let entry = UnsafeMutablePointer<shears_plugin_entry>.allocate(capacity: 1)
        entry.initialize(
            to: shears_plugin_entry(
                abi_version: shears_version(
                    major: UInt32(SHEARS_PLUGIN_ABI_MAJOR), minor: UInt32(SHEARS_PLUGIN_ABI_MINOR),
                    patch: UInt32(SHEARS_PLUGIN_ABI_PATCH)),
                struct_size: UInt32(MemoryLayout<shears_plugin_entry>.size),
                id: cString("org.shears.examples.power"),
                name: cString("Shears activation-power example (Swift)"),
                version: cString("1.0.0"),
                description: cString("Wanda with a tunable activation exponent, written in Swift."),
                init: { host, message, messageSize in PowerPlugin.initialize(host, message, messageSize) },
                deinit: {
                    if PowerPlugin.loads.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                        PowerPlugin.latestHost.store(0, ordering: .releasing)
                    }
                },
                criterion_count: { 1 },
                criterion_descriptor: { index in index == 0 ? PowerPlugin.descriptor : nil },
                create_criterion: { id, parameters, out, message, messageSize in
                    PowerPlugin.create(id, parameters, out, message, messageSize)
                }
            ))
        return UnsafePointer(entry)
    }()

    /// The one parameter, `alpha`.
    nonisolated(unsafe) static let alphaParameter: UnsafePointer<shears_parameter_descriptor> = {
        let parameter = UnsafeMutablePointer<shears_parameter_descriptor>.allocate(capacity: 1)
        parameter.initialize(
            to: shears_parameter_descriptor(
                struct_size: UInt32(MemoryLayout<shears_parameter_descriptor>.size),
                type: shears_parameter_type(SHEARS_PARAMETER_NUMBER),
                name: cString("alpha"),
                description: cString("Exponent of the activation norm: 0 = magnitude, 1 = Wanda, 2 = squared norm."),
                default_number: 1, default_string: nil, minimum: 0, maximum: 4
            ))
        return UnsafePointer(parameter)
    }()

    /// The criterion descriptor.
    nonisolated(unsafe) static let descriptor: UnsafePointer<shears_criterion_descriptor> = {
        let descriptor = UnsafeMutablePointer<shears_criterion_descriptor>.allocate(capacity: 1)
        descriptor.initialize(
            to: shears_criterion_descriptor(
                struct_size: UInt32(MemoryLayout<shears_criterion_descriptor>.size),
                id: cString(criterionID),
                name: cString("Activation power"),
                version: cString("1.0.0"),
                description: cString(
                    """
                    |W_ij| * scaler_row_j^(alpha/2) = |W_ij| * ||X_j||^alpha: Wanda's weight-times-activation score \
                    (Sun et al. 2023, arXiv:2306.11695) with the activation norm raised to a tunable power; \
                    alpha = 0 is magnitude pruning, alpha = 1 is Wanda exactly (same bits).
                    """),
                statistics: shears_statistics(SHEARS_STATISTICS_SQUARED_NORMS),
                flags: shears_criterion_flags(SHEARS_CRITERION_THREAD_SAFE),
                parameter_count: 1,
                parameters: alphaParameter
            ))
        return UnsafePointer(descriptor)
    }()

    /// `init`: keeps the host vtable if it has what the plugin uses.
    static func initialize(
        _ host: UnsafePointer<shears_host>?, _ message: UnsafeMutablePointer<CChar>?,
        _ messageSize: Int
    ) -> shears_status {
        guard let host, host.pointee.struct_size >= MemoryLayout<shears_host>.offset(of: \.get_string)!,
            host.pointee.alloc != nil, host.pointee.free != nil, host.pointee.get_number != nil
        else {
            return fail(
                SHEARS_STATUS_UNSUPPORTED, "activation_power: the host vtable lacks alloc/free/get_number",
                message, messageSize)
        }
        latestHost.store(UInt(bitPattern: host), ordering: .releasing)
        loads.add(1, ordering: .acquiringAndReleasing)
        return SHEARS_STATUS_OK
    }

    /// `create_criterion`: reads `alpha` and allocates an instance with the host's allocator.
    static func create(
        _ id: UnsafePointer<CChar>?, _ parameters: OpaquePointer?,
        _ out: UnsafeMutablePointer<UnsafeMutablePointer<shears_criterion>?>?,
        _ message: UnsafeMutablePointer<CChar>?, _ messageSize: Int
    ) -> shears_status {
        guard let out, let host, let alloc = host.pointee.alloc, let getNumber = host.pointee.get_number else {
            return fail(
                SHEARS_STATUS_INVALID_ARGUMENT, "activation_power: create called before init or without out",
                message, messageSize)
        }
        out.pointee = nil
        guard let id, String(cString: id) == criterionID.description else {
            return fail(
                SHEARS_STATUS_NOT_FOUND, "activation_power: no criterion '\(id.map { String(cString: $0) } ?? "")'",
                message, messageSize)
        }
        var alpha = 0.0
        let status = getNumber(host, parameters, "alpha", &alpha)
        guard status == SHEARS_STATUS_OK else {
            return fail(
                SHEARS_STATUS_INTERNAL, "activation_power: the host did not provide 'alpha' (status \(status))",
                message, messageSize)
        }
        guard alpha.isFinite, alpha >= 0 else {
            return fail(
                SHEARS_STATUS_INVALID_ARGUMENT, "activation_power: alpha must be finite and >= 0, got \(alpha)",
                message, messageSize)
        }
        guard let memory = alloc(host, MemoryLayout<PowerInstance>.size, MemoryLayout<PowerInstance>.alignment) else {
            return fail(
                SHEARS_STATUS_OUT_OF_MEMORY, "activation_power: no memory for an instance", message, messageSize)
        }
        let instance = memory.bindMemory(to: PowerInstance.self, capacity: 1)
        instance.initialize(
            to: PowerInstance(
                criterion: shears_criterion(
                    struct_size: UInt32(MemoryLayout<shears_criterion>.size),
                    criterion_data: memory,
                    destroy: { criterion in PowerPlugin.destroy(criterion) },
                    score: { criterion, input, scores, message, messageSize in
                        PowerPlugin.score(criterion, input, scores, message, messageSize)
                    },
                    select: nil,
                    get_extension: { _, _ in nil },
                    score_units: nil
                ), host: host, alpha: alpha))
        out.pointee = UnsafeMutableRawPointer(instance).assumingMemoryBound(to: shears_criterion.self)
        return SHEARS_STATUS_OK
    }

    /// `destroy`: frees the instance with the allocator of the host it was created with.
    static func destroy(_ criterion: UnsafeMutablePointer<shears_criterion>?) {
        guard let data = criterion?.pointee.criterion_data else { return }
        let host = data.load(as: PowerInstance.self).host
        host.pointee.free?(host, data)
    }

    /// `score`: the instance's `alpha`, then `PowerScore`.
    static func score(
        _ criterion: UnsafePointer<shears_criterion>?, _ input: UnsafePointer<shears_score_input>?,
        _ scores: UnsafeMutablePointer<Float>?, _ message: UnsafeMutablePointer<CChar>?,
        _ messageSize: Int
    ) -> shears_status {
        guard let data = criterion?.pointee.criterion_data else {
            return fail(
                SHEARS_STATUS_INVALID_ARGUMENT, "activation_power: score called without an instance",
                message, messageSize)
        }
        let instance = data.load(as: PowerInstance.self)
        switch PowerScore.run(alpha: instance.alpha, input: input, scores: scores, host: instance.host) {
        case .success: return SHEARS_STATUS_OK
        case .failure(let failure): return fail(failure.status, failure.text, message, messageSize)
        }
    }

    /// One criterion instance: the C struct the host sees first, then the plugin's state.
    struct PowerInstance {
        /// What `create_criterion` hands out (its `criterion_data` points back here).
        var criterion: shears_criterion
        /// The host vtable the instance was created with.
        var host: UnsafePointer<shears_host>
        /// The exponent of the activation norm.
        var alpha: Double
    }

    /// A static string as a C string (Swift's string literals are stored NUL-terminated).
    static func cString(_ text: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
