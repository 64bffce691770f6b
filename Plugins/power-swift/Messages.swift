import PluginAPI

/// Writes `text` into a caller's message buffer of `size` bytes (UTF-8, truncated at a character
/// boundary, always NUL-terminated) and returns `status`.
func fail(_ status: shears_status, _ text: String, _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int) -> shears_status
{
    guard let buffer, size > 0 else { return status }
    var written = 0
    for scalar in text.unicodeScalars {
        let bytes = scalar.utf8
        guard written + bytes.count <= size - 1 else { break }
        for byte in bytes {
            buffer[written] = CChar(bitPattern: byte)
            written += 1
        }
    }
    buffer[written] = 0
    return status
}
