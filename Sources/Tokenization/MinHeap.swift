/// A binary min-heap: `pop()` returns the smallest element (by `<`) first.
///
/// The BPE encoders queue candidate merges in it; `removeAll(keepingCapacity:)` lets one heap
/// serve every word without reallocating.
struct MinHeap<Element: Comparable> {
    private var elements: [Element] = []

    /// Whether no element is queued.
    var isEmpty: Bool { elements.isEmpty }

    /// Adds `element`.
    mutating func push(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child] < elements[parent] else { break }
            elements.swapAt(parent, child)
            child = parent
        }
    }

    /// Removes and returns the smallest element, or nil when empty.
    mutating func pop() -> Element? {
        guard let last = elements.popLast() else { return nil }
        guard !elements.isEmpty else { return last }
        let top = elements[0]
        elements[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < elements.count && elements[left] < elements[smallest] { smallest = left }
            if right < elements.count && elements[right] < elements[smallest] { smallest = right }
            if smallest == parent { break }
            elements.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }

    /// Removes every element.
    mutating func removeAll(keepingCapacity: Bool) { elements.removeAll(keepingCapacity: keepingCapacity) }
}
