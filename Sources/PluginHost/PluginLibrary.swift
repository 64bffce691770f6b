import Foundation
import PluginAPI

/// A loaded plugin: the shared library, its checked entry, the host vtable it was initialised
/// with and copies of its criterion descriptors.
///
/// Loading opens the library with `dlopen(RTLD_NOW | RTLD_LOCAL)`, finds `shears_plugin_get_entry`,
/// checks the ABI major version and the entry's `struct_size`, calls `init` and reads every
/// descriptor. The library stays loaded while this object lives, and every `PluginCriterion`
/// holds a strong reference to it, so no code is unmapped under a live instance; `deinit` runs
/// the plugin's `deinit` and then `dlclose`.
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
    /// `struct_size` of the plugin's entry (the host's is `MemoryLayout<shears_plugin_entry>.size`).
    public let entrySize: Int
    /// The criteria it offers, in the plugin's order.
    public let criteria: [PluginCriterionDescriptor]

    let entry: UnsafePointer<shears_plugin_entry>
    let services: PluginHostServices
    private let handle: UnsafeMutableRawPointer

    /// Loads and initialises the plugin at `path`.
    ///
    /// - Parameters:
    ///   - path: The shared library (a path the user named; never searched for).
    ///   - hostName: What `host_name` says, e.g. "shears 0.1.0".
    ///   - log: Where the plugin's log lines go.
    /// - Throws: `PluginError` naming `path` when the file is missing or not a loadable shared
    ///   object, the entry symbol is missing, the major version is not this host's, a struct is
    ///   smaller than ABI 1.0's, a required function is NULL, `init` fails, or a descriptor is bad.
    public init(path: String, hostName: String = "shears", log: @escaping PluginLogHandler = standardErrorPluginLog) throws(PluginError) {
        self.path = path
        func fail(_ message: String) -> PluginError { PluginError(plugin: path, message) }
        guard !path.isEmpty else { throw fail("an empty path names no library") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw fail("no such file")
        }
        // A name without a slash would make dlopen search the system's library path.
        let loadPath = path.contains("/") ? path : "./" + path
        guard let handle = dlopen(loadPath, RTLD_NOW | RTLD_LOCAL) else {
            throw fail("not a loadable shared object: \(Self.lastLoaderError())")
        }
        var loaded = false
        defer { if !loaded { dlclose(handle) } }
        guard let symbol = dlsym(handle, SHEARS_PLUGIN_ENTRY_SYMBOL) else {
            throw fail("missing entry symbol \(SHEARS_PLUGIN_ENTRY_SYMBOL): not a Shears plugin")
        }
        let getEntry = unsafeBitCast(symbol, to: shears_plugin_get_entry_fn.self)
        guard let entry = getEntry() else { throw fail("\(SHEARS_PLUGIN_ENTRY_SYMBOL) returned NULL") }
        let host = shears_plugin_abi_version().pointee
        let version = entry.pointee.abi_version
        guard version.major == host.major else {
            throw fail("built for plugin ABI \(version.major).\(version.minor).\(version.patch); this host speaks ABI \(host.major).\(host.minor).\(host.patch) (major versions must match)")
        }
        let minimumSize = MemoryLayout<shears_plugin_entry>.size
        guard Int(entry.pointee.struct_size) >= minimumSize else {
            throw fail("entry struct_size \(entry.pointee.struct_size) is smaller than the minimum \(minimumSize) of ABI \(host.major).0")
        }
        let fields = entry.pointee
        guard fields.`init` != nil, fields.deinit != nil, let count = fields.criterion_count,
              let describe = fields.criterion_descriptor, fields.create_criterion != nil else {
            throw fail("the entry lacks a required function (init, deinit, criterion_count, criterion_descriptor, create_criterion)")
        }
        guard let idPointer = fields.id else { throw fail("the entry has no id") }
        let id = String(cString: idPointer)
        let services = PluginHostServices(hostName: hostName, pluginID: id, log: log)
        let (status, message) = PluginStatus.withMessageBuffer { buffer, size in fields.`init`!(services.vtable, buffer, size) }
        guard status == SHEARS_STATUS_OK else { throw fail("init failed: \(PluginStatus.describe(status, message: message))") }
        var criteria: [PluginCriterionDescriptor] = []
        do throws(PluginError) {
            for index in 0..<count() {
                guard let raw = describe(index) else { throw fail("criterion_descriptor(\(index)) returned NULL") }
                let descriptor = try PluginCriterionDescriptor(raw, plugin: path)
                guard !criteria.contains(where: { $0.id == descriptor.id }) else {
                    throw PluginError(plugin: path, criterion: descriptor.id, "two criteria share this id")
                }
                criteria.append(descriptor)
            }
        } catch {
            fields.deinit!()
            throw error
        }
        self.id = id
        name = fields.name.map { String(cString: $0) } ?? id
        self.version = fields.version.map { String(cString: $0) } ?? ""
        description = fields.description.map { String(cString: $0) } ?? ""
        abiVersion = (version.major, version.minor, version.patch)
        entrySize = Int(fields.struct_size)
        self.criteria = criteria
        self.entry = entry
        self.services = services
        self.handle = handle
        loaded = true
    }

    deinit {
        entry.pointee.deinit!()
        dlclose(handle)
    }

    /// The descriptor of criterion `id`.
    ///
    /// - Throws: `PluginError` listing the criteria the plugin does offer.
    public func criterion(_ id: String) throws(PluginError) -> PluginCriterionDescriptor {
        guard let descriptor = criteria.first(where: { $0.id == id }) else {
            let offered = criteria.map(\.id).joined(separator: ", ")
            throw PluginError(plugin: path, criterion: id, "no such criterion (the plugin offers: \(offered.isEmpty ? "none" : offered))")
        }
        return descriptor
    }

    /// `dlerror()`'s text, or a generic phrase when it has none.
    private static func lastLoaderError() -> String {
        guard let text = dlerror() else { return "dlopen failed" }
        return String(cString: text)
    }
}
