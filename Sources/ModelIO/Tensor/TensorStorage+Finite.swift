extension TensorStorage {
    /// The index of the first NaN or infinity, or nil when every element is finite.
    ///
    /// Scans 16 elements at a time (`x * 0` is NaN exactly when `x` is not finite), then finds the
    /// exact index within the first block that has one. About one memory pass.
    public func firstNonFiniteIndex() -> Int? { Self.firstNonFiniteIndex(in: UnsafeBufferPointer(buffer)) }

    /// The first NaN or infinity with its index, or nil when every element is finite.
    package func firstNonFinite() -> (index: Int, value: Float)? { firstNonFiniteIndex().map { ($0, buffer[$0]) } }

    /// The index of the first NaN or infinity in `buffer`, or nil (see `firstNonFiniteIndex()`).
    package static func firstNonFiniteIndex(in buffer: UnsafeBufferPointer<Float>) -> Int? {
        guard let base = buffer.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base)
        let count = buffer.count
        var start = 0
        while start &+ 16 <= count {
            let product = raw.loadUnaligned(fromByteOffset: start &* 4, as: SIMD16<Float>.self) * 0
            if any(product .!= product) { break }
            start &+= 16
        }
        for index in start..<count where !base[index].isFinite { return index }
        return nil
    }
}
