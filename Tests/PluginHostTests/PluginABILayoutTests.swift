import Foundation
import PluginAPI
import PluginHost
import Testing

/// The frozen ABI 1.0 sizes and how the host reads plugin structs of other sizes: newer (larger)
/// structs load, parameter lists are read at one capped stride, and bad lists are refused.
@Suite("plugin ABI layout")
struct PluginABILayoutTests {
    /// C strings that live as long as the object.
    final class CStrings {
        private var pointers: [UnsafeMutablePointer<CChar>] = []
        func callAsFunction(_ text: String) -> UnsafePointer<CChar> {
            let pointer = strdup(text)!
            pointers.append(pointer)
            return UnsafePointer(pointer)
        }
        deinit { for pointer in pointers { free(pointer) } }
    }

    /// A parameter declaration `name` (a number in [0, 10], default `value`).
    static func parameter(_ name: String, _ value: Double, _ strings: CStrings) -> shears_parameter_descriptor {
        shears_parameter_descriptor(
            struct_size: UInt32(MemoryLayout<shears_parameter_descriptor>.size),
            type: shears_parameter_type(SHEARS_PARAMETER_NUMBER),
            name: strings(name), description: strings("a number"), default_number: value, default_string: nil,
            minimum: 0, maximum: 10)
    }

    /// Parses a descriptor of `descriptorSize` bytes (trailing bytes past the 1.0 fields filled with
    /// 0xAB) whose parameter list has `count` entries of the given struct sizes (0xAB past the 1.0
    /// fields too).
    static func parse(
        descriptorSize: Int = MemoryLayout<shears_criterion_descriptor>.size, count: Int,
        sizes: [Int]
    ) throws(PluginError) -> PluginCriterionDescriptor {
        let strings = CStrings()
        let list = UnsafeMutableRawPointer.allocate(byteCount: max(sizes.reduce(0, +), 1), alignment: 8)
        defer { list.deallocate() }
        list.initializeMemory(as: UInt8.self, repeating: 0xAB, count: max(sizes.reduce(0, +), 1))
        var offset = 0
        for (index, size) in sizes.enumerated() {
            var entry = parameter("p\(index)", Double(index), strings)
            entry.struct_size = UInt32(size)
            withUnsafeBytes(of: &entry) { bytes in
                (list + offset).copyMemory(from: bytes.baseAddress!, byteCount: min(size, bytes.count))
            }
            offset += size
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: descriptorSize, alignment: 8)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0xAB, count: descriptorSize)
        var descriptor = shears_criterion_descriptor()
        descriptor.struct_size = UInt32(descriptorSize)
        descriptor.id = strings("grown")
        descriptor.parameter_count = UInt32(count)
        descriptor.parameters = UnsafePointer(list.assumingMemoryBound(to: shears_parameter_descriptor.self))
        withUnsafeBytes(of: &descriptor) { bytes in
            raw.copyMemory(from: bytes.baseAddress!, byteCount: min(descriptorSize, bytes.count))
        }
        return try withExtendedLifetime(strings) { () throws(PluginError) -> PluginCriterionDescriptor in
            try PluginCriterionDescriptor(
                raw.assumingMemoryBound(to: shears_criterion_descriptor.self), plugin: "libgrown.so")
        }
    }

    @Test("the frozen ABI 1.0 minimums are today's struct sizes, but the instance 1.1 grew by score_units")
    func minimumsAreTodaysSizes() {
        #expect(PluginABI.minimumEntrySize == MemoryLayout<shears_plugin_entry>.size)
        #expect(PluginABI.minimumDescriptorSize == MemoryLayout<shears_criterion_descriptor>.size)
        #expect(PluginABI.minimumParameterSize == MemoryLayout<shears_parameter_descriptor>.size)
        #expect(
            PluginABI.minimumCriterionSize + MemoryLayout<UnsafeRawPointer>.size == MemoryLayout<shears_criterion>.size)
        let frozen: [Int] = [
            PluginABI.minimumEntrySize, PluginABI.minimumDescriptorSize, PluginABI.minimumParameterSize,
            PluginABI.minimumCriterionSize,
        ]
        #expect(frozen == [88, 64, 56, 48])
    }

    @Test("structs larger than ABI 1.0's load: extra trailing fields are ignored, parameters read at their stride")
    func grownStructs() throws {
        let descriptor = try Self.parse(descriptorSize: 80, count: 3, sizes: [72, 72, 72])
        #expect(descriptor.structSize == 80)
        #expect(descriptor.parameters.map(\.name) == ["p0", "p1", "p2"])
        #expect(descriptor.parameters.map(\.defaultValue) == [.number(0), .number(1), .number(2)])
        #expect(try Self.parse(count: 2, sizes: [56, 56]).parameters.count == 2)
    }

    @Test(
        "bad descriptors and parameter lists are refused naming the plugin",
        arguments: [
            (48, 1, [56], "a criterion descriptor has struct_size 48, smaller than the minimum 64"),
            (64, 257, [56], "criterion 'grown': declares 257 parameters, more than the maximum 256"),
            (
                64, 2, [5000, 5000],
                "criterion 'grown': a parameter descriptor has struct_size 5000, larger than the maximum 4096"
            ),
            (64, 2, [72, 56], "criterion 'grown': parameter descriptor 1 has struct_size 56, not 72 like the first"),
            (
                64, 2, [48, 48],
                "criterion 'grown': a parameter descriptor has struct_size 48, smaller than the minimum 56"
            ),
        ])
    func badLists(descriptorSize: Int, count: Int, sizes: [Int], expected: String) {
        let error = #expect(throws: PluginError.self) {
            try Self.parse(descriptorSize: descriptorSize, count: count, sizes: sizes)
        }
        #expect(error?.description.hasPrefix("plugin libgrown.so: ") == true, "\(String(describing: error))")
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }
}
