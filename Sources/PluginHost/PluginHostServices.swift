import Foundation
import PluginAPI

/// The `shears_host` vtable one loaded library receives at `init`, with the state its C callbacks
/// reach through `host_data`. It lives as long as the library.
final class PluginHostServices: @unchecked Sendable {
    // @unchecked Sendable: the vtable memory is written once, then only read; `handlers` is guarded by `lock`.

    /// The vtable (stable address, handed to the plugin).
    let vtable: UnsafeMutablePointer<shears_host>
    /// The plugin id prefixed to log lines.
    let pluginID: String
    private let hostName: UnsafeMutablePointer<CChar>
    private let lock = NSLock()
    private var handlers: [Int: PluginLogHandler] = [:]
    private var nextToken = 0

    /// A vtable naming the host `hostName` whose `log` sends lines of `pluginID` to the handlers.
    init(hostName: String, pluginID: String) {
        self.pluginID = pluginID
        self.hostName = strdup(hostName)!
        vtable = .allocate(capacity: 1)
        vtable.initialize(to: shears_host())
        vtable.pointee.abi_version = PluginABI.hostVersion
        vtable.pointee.struct_size = UInt32(MemoryLayout<shears_host>.size)
        vtable.pointee.host_data = Unmanaged.passUnretained(self).toOpaque()
        vtable.pointee.host_name = UnsafePointer(self.hostName)
        vtable.pointee.log = { host, level, message in
            guard let host, let message else { return }
            let services = Unmanaged<PluginHostServices>.fromOpaque(host.pointee.host_data!).takeUnretainedValue()
            let kind = PluginLogMessage.Level(rawValue: level) ?? .warning
            services.log(PluginLogMessage(plugin: services.pluginID, level: kind, text: String(cString: message)))
        }
        vtable.pointee.alloc = { _, size, alignment in
            // posix_memalign needs at least pointer alignment; smaller powers of two are rounded up.
            guard alignment > 0, alignment & (alignment - 1) == 0 else { return nil }
            var pointer: UnsafeMutableRawPointer?
            let rounded = max(alignment, MemoryLayout<UnsafeRawPointer>.size)
            return posix_memalign(&pointer, rounded, max(size, 1)) == 0 ? pointer : nil
        }
        vtable.pointee.free = { _, pointer in Foundation.free(pointer) }
        vtable.pointee.get_number = { _, parameters, name, value in
            PluginParameterTable.lookup(parameters, name, value) { value -> Double? in
                if case .number(let number) = value { number } else { nil }
            }
        }
        vtable.pointee.get_integer = { _, parameters, name, value in
            PluginParameterTable.lookup(parameters, name, value) { value -> Int64? in
                if case .integer(let integer) = value { integer } else { nil }
            }
        }
        vtable.pointee.get_boolean = { _, parameters, name, value in
            PluginParameterTable.lookup(parameters, name, value) { value -> Int32? in
                if case .boolean(let flag) = value { flag ? 1 : 0 } else { nil }
            }
        }
        vtable.pointee.get_string = { _, parameters, name, value in
            guard let parameters, let name, let value else { return SHEARS_STATUS_INVALID_ARGUMENT }
            let table = Unmanaged<PluginParameterTable>.fromOpaque(UnsafeRawPointer(parameters)).takeUnretainedValue()
            let key = String(cString: name)
            guard table.values[key] != nil else { return SHEARS_STATUS_NOT_FOUND }
            guard let text = table.strings[key] else { return SHEARS_STATUS_INVALID_ARGUMENT }
            value.pointee = UnsafePointer(text)
            return SHEARS_STATUS_OK
        }
        vtable.pointee.get_extension = { _, _ in nil }
    }

    /// Adds a log handler; returns the token that removes it.
    func addLogHandler(_ handler: @escaping PluginLogHandler) -> Int {
        lock.withLock {
            nextToken += 1
            handlers[nextToken] = handler
            return nextToken
        }
    }

    /// Removes the handler added under `token`.
    func removeLogHandler(_ token: Int) { _ = lock.withLock { handlers.removeValue(forKey: token) } }

    /// Sends `message` to every handler.
    private func log(_ message: PluginLogMessage) {
        for handler in lock.withLock({ Array(handlers.values) }) { handler(message) }
    }

    deinit {
        vtable.deinitialize(count: 1)
        vtable.deallocate()
        Foundation.free(hostName)
    }
}

/// The values behind an opaque `shears_parameters *` during `create_criterion`, with C copies of
/// the strings (valid until the table is released, after `create_criterion` returns).
final class PluginParameterTable {
    /// Every declared value, by name.
    let values: [String: PluginParameterValue]
    /// C copies of the string values.
    let strings: [String: UnsafeMutablePointer<CChar>]

    init(_ parameters: PluginParameters) {
        values = parameters.values
        var strings: [String: UnsafeMutablePointer<CChar>] = [:]
        for (name, value) in parameters.values {
            if case .string(let text) = value { strings[name] = strdup(text)! }
        }
        self.strings = strings
    }

    deinit { for pointer in strings.values { free(pointer) } }

    /// Calls `body` with the opaque pointer the plugin receives.
    func withOpaquePointer<Result>(_ body: (OpaquePointer) throws -> Result) rethrows -> Result {
        try withExtendedLifetime(self) { try body(OpaquePointer(Unmanaged.passUnretained(self).toOpaque())) }
    }

    /// A typed lookup for the `get_*` callbacks: NOT_FOUND for an undeclared name,
    /// INVALID_ARGUMENT for another type or NULL arguments.
    static func lookup<Value>(
        _ parameters: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<Value>?,
        _ extract: (PluginParameterValue) -> Value?
    ) -> shears_status {
        guard let parameters, let name, let out else { return SHEARS_STATUS_INVALID_ARGUMENT }
        let table = Unmanaged<PluginParameterTable>.fromOpaque(UnsafeRawPointer(parameters)).takeUnretainedValue()
        guard let value = table.values[String(cString: name)] else { return SHEARS_STATUS_NOT_FOUND }
        guard let extracted = extract(value) else { return SHEARS_STATUS_INVALID_ARGUMENT }
        out.pointee = extracted
        return SHEARS_STATUS_OK
    }
}
