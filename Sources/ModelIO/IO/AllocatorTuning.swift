#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide allocator settings a streamed model relies on.
enum AllocatorTuning {
    /// Makes glibc serve every allocation of 1 MiB or more with its own mapping, returned to the
    /// system when freed. By default glibc raises that threshold to the largest block freed so far
    /// (up to 32 MiB), after which a small model's decoded layers come from the heap and, once
    /// freed, stay in the resident set: a streamed SmolLM2 prune then peaks at 684 MB instead of
    /// 268 MB. Set once, when the first streamed model is loaded; nothing elsewhere.
    static let returnFreedLayersToSystem: Void = {
        #if canImport(Glibc)
            // malloc.h is not part of Swift's Glibc module: look `mallopt` up by name.
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            let mmapThreshold: Int32 = -3 // glibc's M_MMAP_THRESHOLD
            if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
                _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, 1 << 20)
            }
        #endif
    }()
}
