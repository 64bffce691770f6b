import Foundation
import PluginAPI

/// One initialised plugin in this process: the `dlopen` handle, the checked entry, the host
/// vtable and the descriptors. `dlopen` returns the same image for the same file, and a plugin's
/// globals exist once, so every `PluginLibrary` of a file shares one image: `init` runs once,
/// `deinit` and `dlclose` run when the last library and instance holding it are gone.
final class PluginImage: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; the registry is guarded by `registryLock`.

    let handle: UnsafeMutableRawPointer
    let entry: UnsafePointer<shears_plugin_entry>
    let services: PluginHostServices
    let id: String
    let criteria: [PluginCriterionDescriptor]

    /// Recursive: a temporary reference released inside `shared` may end an image, whose deinit locks too.
    private static let registryLock = NSRecursiveLock()
    nonisolated(unsafe) private static var registry: [UnsafeMutableRawPointer: WeakImage] = [:]

    private struct WeakImage { weak var image: PluginImage? }

    /// The image of the file at `path`, loading and initialising it unless it is loaded already.
    ///
    /// - Throws: `PluginError` naming `path` (see `PluginLibrary.init(path:hostName:log:)`).
    static func shared(path: String, hostName: String) throws(PluginError) -> PluginImage {
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
        if let image = registry[handle]?.image {
            dlclose(handle)  // the image holds its own reference
            return image
        }
        do throws(PluginError) {
            let image = try PluginImage(handle: handle, path: path, hostName: hostName)
            registry = registry.filter { $0.value.image != nil }
            registry[handle] = WeakImage(image: image)
            return image
        } catch {
            dlclose(handle)
            throw error
        }
    }

    /// Checks the entry of the freshly opened `handle`, runs `init` and reads the descriptors.
    private init(handle: UnsafeMutableRawPointer, path: String, hostName: String) throws(PluginError) {
        func fail(_ message: String) -> PluginError { PluginError(plugin: path, message) }
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
        let services = PluginHostServices(hostName: hostName, pluginID: id)
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
        self.handle = handle
        self.entry = entry
        self.services = services
        self.id = id
        self.criteria = criteria
    }

    deinit {
        PluginImage.registryLock.withLock {
            // A load on another thread may have re-initialised the file after this image's last
            // reference went; its state must survive this image's end.
            if PluginImage.registry[handle]?.image == nil { entry.pointee.deinit!() }
            dlclose(handle)
        }
    }
}
