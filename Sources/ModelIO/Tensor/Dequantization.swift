import Dispatch
import Kernels

/// Conversion of stored GGML tensor data to Float32, with ggml's exact semantics
/// (`dequantize_row_*` in ggml-quants.c; block layouts from ggml-common.h).
public enum Dequantization {
    /// The types `dequantize` accepts.
    public static let supportedTypes: [GGMLType] = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K,
    ]

    /// Whether data of `type` can be dequantized.
    public static func isSupported(_ type: GGMLType) -> Bool { supportedTypes.contains(type) }

    /// Blocks per parallel work item; large tensors are split into chunks of this many blocks.
    private static let blocksPerChunk = 8192

    /// Decodes `destination.count` elements of `type` from `source` into `destination`.
    ///
    /// Preconditions (checked): `type` is supported, `destination.count` is a multiple of the block
    /// size and `source` holds exactly the bytes of that many elements. Large inputs are decoded
    /// in parallel.
    public static func dequantize(
        _ source: UnsafeRawBufferPointer, type: GGMLType, into destination: UnsafeMutableBufferPointer<Float>
    ) {
        precondition(isSupported(type), "dequantization of \(type.name) is not supported")
        precondition(destination.count % type.blockSize == 0, "element count is not a multiple of the block size")
        let blockCount = destination.count / type.blockSize
        precondition(source.count == blockCount * type.bytesPerBlock, "source size does not match the element count")
        guard blockCount > 0, let base = source.baseAddress, let target = destination.baseAddress else { return }
        // The chunks write disjoint ranges of `target` and only read `base`.
        nonisolated(unsafe) let input = base, output = target
        let chunkCount = (blockCount + blocksPerChunk - 1) / blocksPerChunk
        if chunkCount == 1 {
            decode(type, input, output, blocks: 0..<blockCount)
        } else {
            DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                let first = chunk * blocksPerChunk
                decode(type, input, output, blocks: first..<min(first + blocksPerChunk, blockCount))
            }
        }
    }

    /// Decodes the blocks in `blocks` (block indices) of `type`.
    private static func decode(
        _ type: GGMLType, _ input: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, blocks: Range<Int>
    ) {
        let inBlock = type.bytesPerBlock, outBlock = type.blockSize
        let source = input + blocks.lowerBound * inBlock
        let destination = output + blocks.lowerBound * outBlock
        switch type {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: blocks.count * 4)
        case .f16:
            shears_f16_to_f32(source, destination, blocks.count)
        case .bf16:
            shears_bf16_to_f32(source, destination, blocks.count)
        default:
            let decodeBlock: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void
            switch type {
            case .q8_0: decodeBlock = BlockDecoders.q8_0
            case .q4_0: decodeBlock = BlockDecoders.q4_0
            case .q4_1: decodeBlock = BlockDecoders.q4_1
            case .q5_0: decodeBlock = BlockDecoders.q5_0
            case .q5_1: decodeBlock = BlockDecoders.q5_1
            case .q4_K: decodeBlock = BlockDecoders.q4_K
            case .q5_K: decodeBlock = BlockDecoders.q5_K
            case .q6_K: decodeBlock = BlockDecoders.q6_K
            default: preconditionFailure("dequantization of \(type.name) is not supported")
            }
            for block in 0..<blocks.count {
                decodeBlock(source + block * inBlock, destination + block * outBlock)
            }
        }
    }
}

/// One function per quantized block format: decode one block at `block` into `y`.
enum BlockDecoders {
    @inline(__always)
    private static func half(_ pointer: UnsafeRawPointer, _ offset: Int) -> Float {
        shears_half_to_float(UInt16(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always)
    private static func byte(_ pointer: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        pointer.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// `block_q8_0`: f16 d, int8 qs[32]; y = d·q.
    static func q8_0(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0..<32 { y[j] = Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    /// `block_q4_0`: f16 d, qs[16] (low nibbles → elements 0–15, high → 16–31); y = d·(q − 8).
    static func q4_0(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        for j in 0..<16 {
            let q = byte(block, 2 + j)
            y[j] = Float(Int32(q & 0x0F) - 8) * d
            y[j + 16] = Float(Int32(q >> 4) - 8) * d
        }
    }

    /// `block_q4_1`: f16 d, f16 m, qs[16]; y = d·q + m.
    static func q4_1(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), m = half(block, 2)
        for j in 0..<16 {
            let q = byte(block, 4 + j)
            y[j] = Float(q & 0x0F) * d + m
            y[j + 16] = Float(q >> 4) * d + m
        }
    }

    /// `block_q5_0`: f16 d, uint32 qh (fifth bits), qs[16]; y = d·(q − 16).
    static func q5_0(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0)
        let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let q = UInt32(byte(block, 6 + j))
            let high0 = ((qh >> UInt32(j)) << 4) & 0x10
            let high1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float(Int32(bitPattern: (q & 0x0F) | high0) - 16) * d
            y[j + 16] = Float(Int32(bitPattern: (q >> 4) | high1) - 16) * d
        }
    }

    /// `block_q5_1`: f16 d, f16 m, uint32 qh, qs[16]; y = d·q + m.
    static func q5_1(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), m = half(block, 2)
        let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0..<16 {
            let q = UInt32(byte(block, 8 + j))
            let high0 = ((qh >> UInt32(j)) << 4) & 0x10
            let high1 = (qh >> UInt32(j + 12)) & 0x10
            y[j] = Float((q & 0x0F) | high0) * d + m
            y[j + 16] = Float((q >> 4) | high1) * d + m
        }
    }

    /// The 6-bit scale and min of sub-block `j` from the 12 packed bytes of a Q4_K/Q5_K block
    /// (ggml's `get_scale_min_k4`).
    @inline(__always)
    private static func scaleAndMin(_ j: Int, _ scales: UnsafeRawPointer) -> (Float, Float) {
        if j < 4 {
            return (Float(byte(scales, j) & 63), Float(byte(scales, j + 4) & 63))
        }
        let scale = (byte(scales, j + 4) & 0x0F) | ((byte(scales, j - 4) >> 6) << 4)
        let minimum = (byte(scales, j + 4) >> 4) | ((byte(scales, j) >> 6) << 4)
        return (Float(scale), Float(minimum))
    }

    /// `block_q4_K`: f16 d, f16 dmin, scales[12], qs[128]; eight sub-blocks of 32 with 6-bit
    /// scale and min; y = d·sc·q − dmin·m.
    static func q4_K(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), dmin = half(block, 2)
        let scales = block + 4
        let qs = block + 16
        for group in 0..<4 {
            let (sc1, m1) = scaleAndMin(2 * group, scales)
            let (sc2, m2) = scaleAndMin(2 * group + 1, scales)
            let d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2
            let q = qs + 32 * group
            let out = y + 64 * group
            for l in 0..<32 {
                let value = byte(q, l)
                out[l] = d1 * Float(value & 0x0F) - min1
                out[l + 32] = d2 * Float(value >> 4) - min2
            }
        }
    }

    /// `block_q5_K`: f16 d, f16 dmin, scales[12], qh[32], qs[128]; like Q4_K with a fifth bit per
    /// element taken from qh.
    static func q5_K(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 0), dmin = half(block, 2)
        let scales = block + 4
        let qh = block + 16
        let qs = block + 48
        for group in 0..<4 {
            let (sc1, m1) = scaleAndMin(2 * group, scales)
            let (sc2, m2) = scaleAndMin(2 * group + 1, scales)
            let d1 = d * sc1, min1 = dmin * m1, d2 = d * sc2, min2 = dmin * m2
            let lowBit = UInt8(1) << UInt8(2 * group), highBit = UInt8(2) << UInt8(2 * group)
            let q = qs + 32 * group
            let out = y + 64 * group
            for l in 0..<32 {
                let value = byte(q, l), high = byte(qh, l)
                out[l] = d1 * Float((value & 0x0F) + (high & lowBit != 0 ? 16 : 0)) - min1
                out[l + 32] = d2 * Float((value >> 4) + (high & highBit != 0 ? 16 : 0)) - min2
            }
        }
    }

    /// `block_q6_K`: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], f16 d;
    /// sixteen sub-blocks of 16; y = d·sc·(q − 32).
    static func q6_K(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(block, 208)
        for half in 0..<2 {
            let ql = block + 64 * half
            let qh = block + 128 + 32 * half
            let sc = block + 192 + 8 * half
            let out = y + 128 * half
            for s in 0..<2 {
                // d·sc first, then ·q: the same association as ggml's `d * sc[is] * q`.
                let scale = { (k: Int) in d * Float(sc.load(fromByteOffset: s + 2 * k, as: Int8.self)) }
                let scale0 = scale(0), scale1 = scale(1), scale2 = scale(2), scale3 = scale(3)
                for l in (16 * s)..<(16 * s + 16) {
                    let low0 = byte(ql, l), low1 = byte(ql, l + 32), high = byte(qh, l)
                    out[l] = scale0 * Float(Int32((low0 & 0x0F) | ((high & 3) << 4)) - 32)
                    out[l + 32] = scale1 * Float(Int32((low1 & 0x0F) | (((high >> 2) & 3) << 4)) - 32)
                    out[l + 64] = scale2 * Float(Int32((low0 >> 4) | (((high >> 4) & 3) << 4)) - 32)
                    out[l + 96] = scale3 * Float(Int32((low1 >> 4) | (((high >> 6) & 3) << 4)) - 32)
                }
            }
        }
    }
}
