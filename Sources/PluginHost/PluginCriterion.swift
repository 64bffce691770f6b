import Foundation
import PluginAPI

/// A live criterion instance created by a plugin with checked parameters; destroyed (by the
/// plugin's own `destroy`) when this object goes. It holds its library, so the plugin's code
/// stays mapped while the instance lives.
///
/// Calls into an instance whose criterion does not declare `SHEARS_CRITERION_THREAD_SAFE` are
/// serialised with a lock, as the ABI's `[instance]` rule asks.
public final class PluginCriterion: @unchecked Sendable {
    // @unchecked Sendable: the instance pointer is only used under `lock` unless the plugin
    // declared the criterion thread-safe.

    /// The library that created it.
    public let library: PluginLibrary
    /// What it is.
    public let descriptor: PluginCriterionDescriptor
    /// The values it was created with.
    public let parameters: PluginParameters
    /// True when the plugin provides its own `select`.
    public let hasSelect: Bool
    /// `struct_size` of the plugin's instance.
    public let structSize: Int

    /// The plugin's instance, passed back to its functions.
    let instance: UnsafeMutablePointer<shears_criterion>
    /// The host's copy of the instance's fields (`min(struct_size, sizeof)` bytes, rest zero).
    private let functions: shears_criterion
    private let lock = NSLock()

    /// Creates criterion `id` of `library` with `given` parameter values (checked and completed
    /// with the declared defaults first).
    ///
    /// - Throws: `PluginError` for an unknown criterion, a bad parameter, a failed
    ///   `create_criterion`, or an instance smaller than ABI 1.0's struct, without `score` (a
    ///   criterion of weights) or without `score_units` (a unit criterion).
    public init(
        library: PluginLibrary, id: String, parameters given: [String: PluginParameterValue] = [:]
    ) throws(PluginError) {
        let descriptor = try library.criterion(id)
        let parameters = try PluginParameters(validating: given, for: descriptor, plugin: library.path)
        func fail(_ message: String) -> PluginError { PluginError(plugin: library.path, criterion: id, message) }
        let table = PluginParameterTable(parameters)
        var created: UnsafeMutablePointer<shears_criterion>?
        let create = library.entry.create_criterion!
        let (status, message) = table.withOpaquePointer { opaque in
            id.withCString { name in
                PluginStatus.withMessageBuffer { buffer, size in create(name, opaque, &created, buffer, size) }
            }
        }
        guard status == SHEARS_STATUS_OK else {
            if let created { created.pointee.destroy?(created) }
            throw fail("create_criterion failed: \(PluginStatus.describe(status, message: message))")
        }
        guard let created else { throw fail("create_criterion returned OK without an instance") }
        let structSize = Int(created.pointee.struct_size)
        let functions = PluginABI.copy(created, structSize: structSize, into: shears_criterion())
        guard structSize >= PluginABI.minimumCriterionSize else {
            functions.destroy?(created)
            throw fail(
                "the instance has struct_size \(structSize), smaller than the minimum \(PluginABI.minimumCriterionSize)"
            )
        }
        guard functions.destroy != nil, descriptor.isUnitCriterion || functions.score != nil else {
            functions.destroy?(created)
            throw fail("the instance lacks destroy or score")
        }
        guard !descriptor.isUnitCriterion || functions.score_units != nil else {
            functions.destroy?(created)
            throw fail("a unit criterion's instance lacks score_units (ABI 1.1)")
        }
        self.library = library
        self.descriptor = descriptor
        self.parameters = parameters
        self.structSize = structSize
        self.functions = functions
        instance = created
        hasSelect = functions.select != nil
    }

    deinit { functions.destroy!(instance) }

    /// The plugin id, path and criterion id for messages.
    func error(_ message: String) -> PluginError {
        PluginError(plugin: library.path, criterion: descriptor.id, message)
    }

    /// Calls `score` on `input`, writing `rows × columns` floats to `scores`.
    ///
    /// - Throws: `PluginError` with the plugin's status and message when it fails.
    public func score(
        _ input: UnsafePointer<shears_score_input>, into scores: UnsafeMutablePointer<Float>
    ) throws(PluginError) {
        guard let score = functions.score else {
            throw error("a unit criterion scores no weights; use it as a unit step (unit = \"heads\", ...)")
        }
        let (status, message) = serialized {
            PluginStatus.withMessageBuffer { buffer, size in score(instance, input, scores, buffer, size) }
        }
        guard status == SHEARS_STATUS_OK else {
            throw error("score failed on \(Self.tensorName(input)): \(PluginStatus.describe(status, message: message))")
        }
    }

    /// Calls `score_units` on `input`, writing `unit_count` floats to `scores`.
    ///
    /// - Throws: `PluginError` when the criterion scores no units or the plugin fails.
    public func scoreUnits(
        _ input: UnsafePointer<shears_unit_input>, into scores: UnsafeMutablePointer<Float>
    ) throws(PluginError) {
        guard let scoreUnits = functions.score_units else { throw error("the criterion scores no units") }
        let (status, message) = serialized {
            PluginStatus.withMessageBuffer { buffer, size in scoreUnits(instance, input, scores, buffer, size) }
        }
        guard status == SHEARS_STATUS_OK else {
            throw error(
                "score_units failed on layer \(input.pointee.layer): \(PluginStatus.describe(status, message: message))"
            )
        }
    }

    /// Calls `select` on `input` and `scores`, writing `rows × columns` flags to `mask`.
    ///
    /// - Throws: `PluginError` when the criterion has no `select` or it fails.
    public func select(
        _ input: UnsafePointer<shears_score_input>, scores: UnsafePointer<Float>,
        into mask: UnsafeMutablePointer<UInt8>
    ) throws(PluginError) {
        guard let select = functions.select else { throw error("the criterion has no select function") }
        let (status, message) = serialized {
            PluginStatus.withMessageBuffer { buffer, size in select(instance, input, scores, mask, buffer, size) }
        }
        guard status == SHEARS_STATUS_OK else {
            throw error(
                "select failed on \(Self.tensorName(input)): \(PluginStatus.describe(status, message: message))")
        }
    }

    /// Runs `body` under the instance lock unless the criterion is declared thread-safe.
    private func serialized<Result>(_ body: () -> Result) -> Result {
        if descriptor.isThreadSafe { return body() }
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// The input's tensor name, for messages.
    static func tensorName(_ input: UnsafePointer<shears_score_input>) -> String {
        input.pointee.tensor_name.map { String(cString: $0) } ?? "a matrix"
    }
}
