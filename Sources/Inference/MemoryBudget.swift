import Foundation
import ModelIO

/// Memory sizes as users write them (`--max-memory 8G`, `max_memory = "512M"`) and the default
/// budget of a computation: the machine's physical memory less the model it works on.
/// `shears gradients`, `shears prune` and the recipes' `max_memory` fields share it.
package enum MemoryBudget {
    /// Bytes from `4096`, `512K`, `64M`, `8G` or `1T` (binary units, optional `B`/`iB`, case
    /// ignored, decimals allowed: `1.5G`); nil for anything else or a size that is not positive.
    package static func parse(_ text: String) -> Int? {
        var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) && digits.count > suffix.count {
            digits.removeLast(suffix.count)
            break
        }
        let units: [Character: Double] = ["K": 0x400, "M": 0x10_0000, "G": 0x4000_0000, "T": 0x100_0000_0000]
        var scale = 1.0
        if let last = digits.last, let unit = units[last] {
            scale = unit
            digits.removeLast()
        }
        guard let value = Double(digits), value.isFinite, value > 0, value * scale < 0x1p62 else { return nil }
        return Int(value * scale)
    }

    /// `bytes` for a reader: `512 B`, `4.0 KiB`, `1.4 MiB`, `37 GiB` (one decimal under 10).
    package static func describe(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        return String(format: value < 10 ? "%.1f " : "%.0f ", value) + units[unit]
    }

    /// The machine's physical memory in bytes.
    package static var physical: Int { sysconf(Int32(_SC_PHYS_PAGES)) * sysconf(Int32(_SC_PAGESIZE)) }

    /// The default budget beside `model`: physical memory less the model as it is held (all of
    /// it as Float32 when resident; two of its largest layers when streamed).
    package static func available(beside model: Model) -> Int { max(0, physical - heldBytes(model)) }

    /// Bytes of `model`'s weights in memory while it runs: 4 per parameter when resident, two
    /// layers as Float32 (the cached one and the one being pruned) when streamed.
    package static func heldBytes(_ model: Model) -> Int {
        switch model.residency {
        case .resident: model.parameterCount * MemoryLayout<Float>.stride
        case .streamed: 2 * GGUFModelReader.largestLayerBytes(model.config)
        }
    }
}
