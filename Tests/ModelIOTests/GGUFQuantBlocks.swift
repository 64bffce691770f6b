import ModelIO
import TestSupport

/// Random blocks of every dequantizable type, and a straightforward element-by-element decoder
/// written from the ggml block layouts (ggml-common.h) independently of `Dequantization`.
enum GGUFQuantBlocks {
    /// The byte offsets of the f16 scale fields in a block of `type` (set to finite values).
    static func halfFields(_ type: GGMLType) -> [Int] {
        switch type {
        case .q8_0, .q4_0, .q5_0: [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
        case .q6_K: [208]
        default: []
        }
    }

    /// `blocks` random blocks of `type`, with finite f16 scales (and finite values for F32/F16/BF16).
    static func random(_ type: GGMLType, blocks: Int, rng: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<blocks {
            switch type {
            case .f32:
                withUnsafeBytes(of: ((rng.nextUnitFloat() * 2 - 1) * 10).bitPattern) { bytes.append(contentsOf: $0) }
            case .f16:
                withUnsafeBytes(of: Float16((rng.nextUnitFloat() * 2 - 1) * 100).bitPattern) {
                    bytes.append(contentsOf: $0)
                }
            case .bf16:
                let bits = ((rng.nextUnitFloat() * 2 - 1) * 1000).bitPattern
                withUnsafeBytes(of: UInt16(bits >> 16)) { bytes.append(contentsOf: $0) }
            default:
                var block = (0..<type.bytesPerBlock).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                for field in halfFields(type) {
                    let scale = Float16((rng.nextUnitFloat() * 2 - 1) * 0.05).bitPattern
                    block[field] = UInt8(scale & 0xFF)
                    block[field + 1] = UInt8(scale >> 8)
                }
                bytes.append(contentsOf: block)
            }
        }
        return bytes
    }

    private static func half(_ b: ArraySlice<UInt8>, _ at: Int) -> Float {
        let i = b.startIndex + at
        return Float(Float16(bitPattern: UInt16(b[i]) | UInt16(b[i + 1]) << 8))
    }

    private static func u8(_ b: ArraySlice<UInt8>, _ at: Int) -> Int { Int(b[b.startIndex + at]) }

    private static func nibble(_ byte: Int, high: Bool) -> Int { high ? byte >> 4 : byte & 0x0F }

    /// Scale and min of sub-block `j` in the 12 packed bytes starting at `base` (Q4_K, Q5_K).
    private static func packedScaleMin(_ b: ArraySlice<UInt8>, base: Int, _ j: Int) -> (Int, Int) {
        let s = { (k: Int) in u8(b, base + k) }
        if j < 4 { return (s(j) & 63, s(j + 4) & 63) }
        return ((s(j + 4) & 0x0F) | ((s(j - 4) >> 6) << 4), (s(j + 4) >> 4) | ((s(j) >> 6) << 4))
    }

    /// Element `i` of one block `b` of `type`.
    static func element(_ type: GGMLType, block b: ArraySlice<UInt8>, index i: Int) -> Float {
        switch type {
        case .f32:
            let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(u8(b, $1)) << (8 * $1) }
            return Float(bitPattern: bits)
        case .f16:
            return half(b, 0)
        case .bf16:
            return Float(bitPattern: UInt32(u8(b, 0) | u8(b, 1) << 8) << 16)
        case .q8_0:
            return Float(Int8(bitPattern: b[b.startIndex + 2 + i])) * half(b, 0)
        case .q4_0:
            return Float(nibble(u8(b, 2 + i % 16), high: i >= 16) - 8) * half(b, 0)
        case .q4_1:
            return Float(nibble(u8(b, 4 + i % 16), high: i >= 16)) * half(b, 0) + half(b, 2)
        case .q5_0, .q5_1:
            let base = type == .q5_0 ? 2 : 4
            let qh = (0..<4).reduce(0) { $0 | u8(b, base + $1) << (8 * $1) }
            let q = nibble(u8(b, base + 4 + i % 16), high: i >= 16) | ((qh >> i) & 1) << 4
            return type == .q5_0 ? Float(q - 16) * half(b, 0) : Float(q) * half(b, 0) + half(b, 2)
        case .q4_K, .q5_K:
            let group = i / 64, within = i % 64, l = within % 32, upper = within >= 32
            let sub = 2 * group + (upper ? 1 : 0)
            let (scale, minimum) = packedScaleMin(b, base: 4, sub)
            var q = nibble(u8(b, (type == .q4_K ? 16 : 48) + 32 * group + l), high: upper)
            if type == .q5_K { q += ((u8(b, 16 + l) >> sub) & 1) * 16 }
            return half(b, 0) * Float(scale) * Float(q) - half(b, 2) * Float(minimum)
        case .q6_K:
            let part = i / 128, r = i % 128, quarter = r / 32, l = r % 32
            let low = nibble(u8(b, 64 * part + l + (quarter % 2) * 32), high: quarter >= 2)
            let high = (u8(b, 128 + 32 * part + l) >> (2 * quarter)) & 3
            let scale = Int8(bitPattern: b[b.startIndex + 192 + 8 * part + l / 16 + 2 * quarter])
            return half(b, 208) * Float(scale) * Float((low | high << 4) - 32)
        default:
            fatalError("no reference decoder for \(type.name)")
        }
    }

    /// Decodes all of `bytes` (whole blocks of `type`) with `element`.
    static func referenceDecode(_ type: GGMLType, _ bytes: [UInt8]) -> [Float] {
        stride(from: 0, to: bytes.count, by: type.bytesPerBlock).flatMap { start in
            let block = bytes[start..<(start + type.bytesPerBlock)]
            return (0..<type.blockSize).map { element(type, block: block, index: $0) }
        }
    }
}
