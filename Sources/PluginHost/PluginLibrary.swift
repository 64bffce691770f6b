import Foundation
import PluginAPI

/// A loaded plugin: the shared library, its checked entry, the host vtable it was initialised
/// with and copies of its criterion descriptors.
///
/// Loading opens the library with `dlopen(RTLD_NOW | RTLD_LOCAL)`, finds `shears_plugin_get_entry`,
/// checks the ABI major version and the entry's `struct_size`, calls `init` and reads every
/// descriptor. The library stays loaded while this object lives, and every `PluginCriterion`
/// holds a strong reference to it, so no code is unmapped under a live instance; when the last
/// holder of the file's image goes, the plugin's `deinit` runs and then `dlclose`.
///
/// ```swift
/// let library = try PluginLibrary(path: "libShearsWandaPlugin.so")
/// for criterion in library.criteria { print(criterion.id, criterion.description) }
/// ```
public final class PluginLibrary: @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable after init; the plugin's
    // thread-safe entry functions are the only ones called off the loading thread.

    /// The path as the user gave it (used in every message).
    public let path: String
    /// The plugin's reverse-DNS id.
    public let id: String
    /// Human-readable name.
    public let name: String
    /// The plugin's own version.
    public let version: String
    /// One paragraph about the plugin.
    public let description: String
    /// The ABI version the plugin was built against.
    public let abiVersion: (major: UInt32, minor: UInt32, patch: UInt32)
    /// `struct_size` of the plugin's entry (at least `PluginABI.minimumEntrySize`).
    public let entrySize: Int
    /// The criteria it offers, in the plugin's order.
    public let criteria: [PluginCriterionDescriptor]

    let image: PluginImage
    private let logToken: Int

    /// The host's copy of the checked entry.
    var entry: shears_plugin_entry { image.entry }

    /// Loads and initialises the plugin at `path`.
    ///
    /// Loading a file that is already loaded in this process reuses its initialisation (the
    /// plugin's `init` runs once per process while it stays loaded); log lines then reach the
    /// handlers of every live `PluginLibrary` of that file.
    ///
    /// - Parameters:
    ///   - path: The shared library (a path the user named; never searched for).
    ///   - hostName: What `host_name` says, e.g. "shears 0.1.0" (the first load's name is kept).
    ///   - log: Where the plugin's log lines go (installed before the plugin's `init` runs).
    /// - Throws: `PluginError` naming `path` when the file is missing or not a loadable shared
    ///   object, the entry symbol is missing, the major version is not this host's, a struct is
    ///   smaller than ABI 1.0's, a required function is NULL, `init` fails, or a descriptor is bad.
    public init(
        path: String, hostName: String = "shears", log: @escaping PluginLogHandler = standardErrorPluginLog
    ) throws(PluginError) {
        let (image, logToken) = try PluginImage.acquire(path: path, hostName: hostName, log: log)
        let fields = image.entry
        self.path = path
        self.image = image
        id = image.id
        name = fields.name.map { String(cString: $0) } ?? image.id
        version = fields.version.map { String(cString: $0) } ?? ""
        description = fields.description.map { String(cString: $0) } ?? ""
        abiVersion = (fields.abi_version.major, fields.abi_version.minor, fields.abi_version.patch)
        entrySize = image.entrySize
        criteria = image.criteria
        self.logToken = logToken
    }

    deinit { image.release(logToken: logToken) }

    /// The descriptor of criterion `id`.
    ///
    /// - Throws: `PluginError` listing the criteria the plugin does offer.
    public func criterion(_ id: String) throws(PluginError) -> PluginCriterionDescriptor {
        guard let descriptor = criteria.first(where: { $0.id == id }) else {
            let offered = criteria.map(\.id).joined(separator: ", ")
            throw PluginError(
                plugin: path, criterion: id,
                "no such criterion (the plugin offers: \(offered.isEmpty ? "none" : offered))")
        }
        return descriptor
    }
}
