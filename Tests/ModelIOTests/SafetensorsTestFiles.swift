import Foundation
import ModelIO
import TestSupport

/// Temporary directories and hand-built safetensors files for the safetensors tests.
enum SafetensorsTestFiles {
    /// A fresh, empty temporary directory.
    static func makeDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shears-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Removes `path` and everything under it.
    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// A file made of an 8-byte length, `header` (as given, unpadded) and `data`.
    static func raw(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        var bytes = withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { Array($0) }
        bytes += json
        bytes += data
        return bytes
    }

    /// Writes `bytes` to `name` in `directory` and returns the path.
    static func write(_ bytes: [UInt8], named name: String, in directory: String) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A random tensor with the given name and shape; values span several binades, with a few
    /// exact zeros and negative numbers.
    static func randomTensor(_ name: String, shape: [Int], seed: UInt64) -> Tensor {
        var rng = SplitMix64(seed: seed)
        let count = shape.reduce(1, *)
        let storage = TensorStorage(count: count) { buffer in
            for i in 0..<count {
                let magnitude = Float(
                    sign: .plus, exponent: Int(rng.next() % 20) - 10, significand: 1 + rng.nextUnitFloat())
                buffer[i] = i % 17 == 0 ? 0 : (rng.next() & 1 == 0 ? magnitude : -magnitude)
            }
        }
        return Tensor(name: name, shape: shape, storage: storage)
    }
}
