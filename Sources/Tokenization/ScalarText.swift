/// A stretch of UTF-8 text decoded to Unicode scalars with their classes and byte offsets, the
/// input of the pre-tokenizer scanners. Reused between calls to avoid reallocating.
struct ScalarText {
    /// The scalar values.
    private(set) var values: [UInt32] = []
    /// The class of each scalar.
    private(set) var classes: [ScalarClass] = []
    /// The byte offset of each scalar in the source buffer, plus one past the last.
    private(set) var byteOffsets: [Int] = []

    /// Number of scalars.
    var count: Int { values.count }

    /// Decodes the valid UTF-8 `bytes[range]`.
    mutating func load(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        values.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        byteOffsets.removeAll(keepingCapacity: true)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let lead = bytes[offset]
            var value: UInt32, length: Int
            switch lead {
            case 0..<0x80:
                value = UInt32(lead)
                length = 1
            case 0xC0..<0xE0:
                value = UInt32(lead & 0x1F)
                length = 2
            case 0xE0..<0xF0:
                value = UInt32(lead & 0x0F)
                length = 3
            default:
                value = UInt32(lead & 0x07)
                length = 4
            }
            length = min(length, range.upperBound - offset)
            for index in 1..<length { value = value << 6 | UInt32(bytes[offset + index] & 0x3F) }
            values.append(value)
            classes.append(ScalarClass.of(value))
            byteOffsets.append(offset)
            offset += length
        }
        byteOffsets.append(range.upperBound)
    }
}
