import PluginAPI

/// The layout rules the host applies to plugin-owned structs.
///
/// A struct a plugin hands over starts with its `struct_size` (as the plugin compiled it) and only
/// ever grows at the end. The host accepts any size from ABI 1.0's up, and reads a struct by
/// copying `min(struct_size, sizeof)` bytes into a zero-filled host copy: a newer plugin's extra
/// fields are ignored, an older plugin's missing ones read as zero / NULL, and nothing past
/// `struct_size` is ever read. The minimums below are ABI 1.0's sizes on 64-bit platforms, frozen
/// here so that growing the header does not turn away plugins built against 1.0.
public enum PluginABI {
    /// `sizeof(shears_plugin_entry)` in ABI 1.0: the smallest entry the host accepts.
    public static let minimumEntrySize = 88
    /// `sizeof(shears_criterion_descriptor)` in ABI 1.0: the smallest descriptor the host accepts.
    public static let minimumDescriptorSize = 64
    /// `sizeof(shears_parameter_descriptor)` in ABI 1.0: the smallest parameter declaration accepted.
    public static let minimumParameterSize = 56
    /// `sizeof(shears_criterion)` in ABI 1.0: the smallest criterion instance the host accepts.
    public static let minimumCriterionSize = 48
    /// The most parameters one criterion may declare.
    public static let maximumParameterCount = 256
    /// The largest `struct_size` accepted for a parameter declaration (the stride of the list).
    public static let maximumParameterStructSize = 4096

    /// The ABI version this host speaks.
    public static var hostVersion: shears_version { shears_plugin_abi_version().pointee }

    /// `zero` (a zero-initialised struct) overwritten with the first `min(structSize, size of T)`
    /// bytes at `raw`: the host's copy of a plugin struct of `structSize` bytes.
    static func copy<T>(_ raw: UnsafeRawPointer, structSize: Int, into zero: T) -> T {
        var copy = zero
        withUnsafeMutableBytes(of: &copy) { bytes in
            bytes.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: min(max(structSize, 0), bytes.count)))
        }
        return copy
    }
}
