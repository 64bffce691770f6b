import Foundation

/// The Float32 storages of a streamed model's recently read tensors, least recently used first
/// out, within a byte budget (the reader gives the model's largest layer, so that the layer in use
/// is decoded once for all the calls that read it). Room is made before a storage is decoded; the
/// newest entry is kept even when it alone exceeds the budget. Thread-safe.
package final class TensorCache: @unchecked Sendable {
    // @unchecked Sendable: all state is behind `lock`.

    /// The most bytes of storages the cache keeps.
    package let budget: Int
    private let lock = NSLock()
    /// Each entry keeps its source alive, so that no other source can take its identifier.
    private var entries: [ObjectIdentifier: (source: TensorSource, storage: TensorStorage)] = [:]
    /// Keys, least recently used first.
    private var order: [ObjectIdentifier] = []
    private var bytes = 0

    /// A cache keeping at most `budget` bytes.
    package init(budget: Int) {
        self.budget = budget
    }

    /// Bytes currently held.
    package var heldBytes: Int { lock.withLock { bytes } }

    /// The storage of `source`: the cached one, or `decode()`'s result, cached.
    package func storage(for source: TensorSource, decode: () -> TensorStorage) -> TensorStorage {
        let key = ObjectIdentifier(source)
        if let hit = lock.withLock({ () -> TensorStorage? in
            guard let entry = entries[key] else { return nil }
            order.removeAll { $0 == key }
            order.append(key)
            return entry.storage
        }) {
            return hit
        }
        // Room is made before decoding, so that the cache never holds more than its budget plus
        // the newest storage.
        lock.withLock { evict(toFit: source.count * MemoryLayout<Float>.stride) }
        // Decoded outside the lock: two threads may decode the same tensor once each, never wrongly.
        let storage = decode()
        lock.withLock {
            guard entries[key] == nil else { return }
            evict(toFit: storage.count * MemoryLayout<Float>.stride)
            entries[key] = (source, storage)
            order.append(key)
            bytes += storage.count * MemoryLayout<Float>.stride
        }
        return storage
    }

    /// Drops least recently used entries until `incoming` more bytes fit the budget (or none is
    /// left). Called with the lock held.
    private func evict(toFit incoming: Int) {
        while !order.isEmpty, bytes + incoming > budget {
            let evicted = order.removeFirst()
            bytes -= (entries.removeValue(forKey: evicted)?.storage.count ?? 0) * MemoryLayout<Float>.stride
        }
    }

    /// Drops every entry (their storages live on while callers hold them).
    package func removeAll() {
        lock.withLock {
            entries = [:]
            order = []
            bytes = 0
        }
    }
}
