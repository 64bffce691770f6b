import Foundation
import PluginAPI

/// One initialised plugin in this process: the `dlopen` handle, the host's copy of the checked
/// entry, the host vtable and the descriptors. `dlopen` returns the same image for the same file,
/// and a plugin's globals exist once, so every `PluginLibrary` of a file shares one image.
///
/// The registry counts the holders of each image explicitly under one lock: the first `acquire`
/// runs `init`, the `release` that drops the count to zero runs `deinit` and `dlclose` before the
/// lock is let go. A load racing with the last release therefore either joins the live
/// initialisation or starts a fresh one after `deinit`: `init` and `deinit` always pair.
final class PluginImage: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; the registry is guarded by `registryLock`.

    let handle: UnsafeMutableRawPointer
    /// The host's copy of the entry (`min(struct_size, sizeof)` bytes of the plugin's, rest zero).
    let entry: shears_plugin_entry
    /// `struct_size` of the plugin's entry.
    let entrySize: Int
    let services: PluginHostServices
    let id: String
    let criteria: [PluginCriterionDescriptor]

    /// Recursive, so a plugin whose `init` logs into a handler that loads a plugin cannot deadlock.
    private static let registryLock = NSRecursiveLock()
    nonisolated(unsafe) private static var registry: [UnsafeMutableRawPointer: Registration] = [:]

    /// A loaded image and the number of `acquire`s not yet released.
    private struct Registration {
        let image: PluginImage
        var holders: Int
    }

    private init(
        handle: UnsafeMutableRawPointer, entry: shears_plugin_entry, entrySize: Int, services: PluginHostServices,
        id: String, criteria: [PluginCriterionDescriptor]
    ) {
        self.handle = handle
        self.entry = entry
        self.entrySize = entrySize
        self.services = services
        self.id = id
        self.criteria = criteria
    }

    /// The image of the file at `path`, loading and initialising it unless it is loaded already,
    /// with `log` installed among its log handlers (before `init` runs, on a first load). Pair
    /// every successful call with one `release(logToken:)`.
    ///
    /// - Throws: `PluginError` naming `path` (see `PluginLibrary.init(path:hostName:log:)`).
    static func acquire(
        path: String, hostName: String, log: @escaping PluginLogHandler
    ) throws(PluginError)
        -> (image: PluginImage, logToken: Int)
    {
        func fail(_ message: String) -> PluginError { PluginError(plugin: path, message) }
        guard !path.isEmpty else { throw fail("an empty path names no library") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw fail("no such file")
        }
        registryLock.lock()
        defer { registryLock.unlock() }
        // A name without a slash would make dlopen search the system's library path.
        let loadPath = path.contains("/") ? path : "./" + path
        guard let handle = dlopen(loadPath, RTLD_NOW | RTLD_LOCAL) else {
            throw fail("not a loadable shared object: \(String(cString: dlerror()))")
        }
        if var registration = registry[handle] {
            dlclose(handle) // the registered image holds its own reference
            registration.holders += 1
            registry[handle] = registration
            return (registration.image, registration.image.services.addLogHandler(log))
        }
        do throws(PluginError) {
            let (image, token) = try load(handle: handle, path: path, hostName: hostName, log: log)
            registry[handle] = Registration(image: image, holders: 1)
            return (image, token)
        } catch {
            dlclose(handle)
            throw error
        }
    }

    /// Removes the log handler of one `acquire` and drops its hold; the last hold runs the
    /// plugin's `deinit` and closes the library.
    func release(logToken: Int) {
        services.removeLogHandler(logToken)
        Self.registryLock.withLock {
            guard var registration = Self.registry[handle] else { return }
            registration.holders -= 1
            guard registration.holders == 0 else {
                Self.registry[handle] = registration
                return
            }
            Self.registry[handle] = nil
            entry.deinit!()
            dlclose(handle)
        }
    }

    /// Checks the entry of the freshly opened `handle`, installs `log`, runs `init` and reads the
    /// descriptors.
    private static func load(
        handle: UnsafeMutableRawPointer, path: String, hostName: String,
        log: @escaping PluginLogHandler
    ) throws(PluginError) -> (PluginImage, Int) {
        func fail(_ message: String) -> PluginError { PluginError(plugin: path, message) }
        guard let symbol = dlsym(handle, SHEARS_PLUGIN_ENTRY_SYMBOL) else {
            throw fail("missing entry symbol \(SHEARS_PLUGIN_ENTRY_SYMBOL): not a Shears plugin")
        }
        let getEntry = unsafeBitCast(symbol, to: shears_plugin_get_entry_fn.self)
        guard let raw = getEntry() else { throw fail("\(SHEARS_PLUGIN_ENTRY_SYMBOL) returned NULL") }
        // The version and struct_size lead every entry of every major version.
        let host = PluginABI.hostVersion
        let version = raw.pointee.abi_version
        guard version.major == host.major else {
            throw fail(
                "built for plugin ABI \(version.major).\(version.minor).\(version.patch); this host speaks ABI \(host.major).\(host.minor).\(host.patch) (major versions must match)"
            )
        }
        let entrySize = Int(raw.pointee.struct_size)
        guard entrySize >= PluginABI.minimumEntrySize else {
            throw fail(
                "entry struct_size \(entrySize) is smaller than the minimum \(PluginABI.minimumEntrySize) of ABI \(host.major).0"
            )
        }
        let fields = PluginABI.copy(raw, structSize: entrySize, into: shears_plugin_entry())
        guard let initialize = fields.`init`, let deinitialize = fields.deinit, let count = fields.criterion_count,
            let describe = fields.criterion_descriptor, fields.create_criterion != nil
        else {
            throw fail(
                "the entry lacks a required function (init, deinit, criterion_count, criterion_descriptor, create_criterion)"
            )
        }
        guard let idPointer = fields.id else { throw fail("the entry has no id") }
        let id = String(cString: idPointer)
        let services = PluginHostServices(hostName: hostName, pluginID: id)
        // Installed before init, so what the plugin logs while initialising (or failing to) is seen.
        let token = services.addLogHandler(log)
        let (status, message) = PluginStatus.withMessageBuffer { buffer, size in
            initialize(services.vtable, buffer, size)
        }
        guard status == SHEARS_STATUS_OK else {
            throw fail("init failed: \(PluginStatus.describe(status, message: message))")
        }
        var criteria: [PluginCriterionDescriptor] = []
        do throws(PluginError) {
            for index in 0..<count() {
                guard let descriptor = describe(index) else {
                    throw fail("criterion_descriptor(\(index)) returned NULL")
                }
                let copied = try PluginCriterionDescriptor(descriptor, plugin: path)
                guard !criteria.contains(where: { $0.id == copied.id }) else {
                    throw PluginError(plugin: path, criterion: copied.id, "two criteria share this id")
                }
                criteria.append(copied)
            }
        } catch {
            deinitialize()
            throw error
        }
        let image = PluginImage(
            handle: handle, entry: fields, entrySize: entrySize, services: services, id: id, criteria: criteria)
        return (image, token)
    }
}
