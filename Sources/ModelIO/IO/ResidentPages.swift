#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// Dropping pages of a file mapping from the process's resident set.
enum ResidentPages {
    /// Drops the whole pages inside byte `range` of the mapping at page-aligned `base`, never the
    /// pages it shares with neighbouring data. The bytes stay in the file (and the page cache) and
    /// a later read maps them back. Advice only: a failure leaves the pages resident, which is
    /// never wrong.
    static func release(_ range: Range<Int>, of base: UnsafeRawPointer) {
        guard !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard start < end else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }
}
