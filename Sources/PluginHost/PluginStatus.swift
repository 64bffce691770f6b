import PluginAPI

/// Names of the ABI's status codes, for messages.
enum PluginStatus {
    /// `OK`, `INVALID_ARGUMENT`, ... or `unknown status N` for a value outside the ABI.
    static func name(_ status: shears_status) -> String {
        switch status {
        case SHEARS_STATUS_OK: "OK"
        case SHEARS_STATUS_INVALID_ARGUMENT: "INVALID_ARGUMENT"
        case SHEARS_STATUS_UNSUPPORTED: "UNSUPPORTED"
        case SHEARS_STATUS_OUT_OF_MEMORY: "OUT_OF_MEMORY"
        case SHEARS_STATUS_INTERNAL: "INTERNAL"
        case SHEARS_STATUS_NOT_FOUND: "NOT_FOUND"
        default: "unknown status \(status)"
        }
    }

    /// The text of a message buffer the plugin filled (NUL-terminated within `size` bytes, or cut there).
    static func text(of buffer: UnsafeMutablePointer<CChar>, size: Int) -> String {
        buffer[size - 1] = 0
        return String(cString: buffer)
    }

    /// `STATUS: message`, or just the status name when the plugin wrote no message.
    static func describe(_ status: shears_status, message: String) -> String {
        message.isEmpty ? "returned \(name(status)) without a message" : "\(name(status)): \(message)"
    }

    /// Calls `body` with a zeroed message buffer of `SHEARS_MESSAGE_SIZE` bytes and returns its
    /// status with the message.
    static func withMessageBuffer(
        _ body: (UnsafeMutablePointer<CChar>, Int) -> shears_status
    ) -> (shears_status, String) {
        let size = Int(SHEARS_MESSAGE_SIZE)
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: size) { buffer in
            let base = buffer.baseAddress!
            base.initialize(repeating: 0, count: size)
            let status = body(base, size)
            return (status, text(of: base, size: size))
        }
    }
}
