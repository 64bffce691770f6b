/// Any value (raw pointers, a tuple of them) handed to `concurrentPerform` workers that use it
/// without races, e.g. each writing only its own rows. The one such wrapper of the pruning side
/// (Inference has the same type, internal to it).
package struct UnsafeSendable<Value>: @unchecked Sendable {
    /// The wrapped value.
    package let value: Value
    /// Wraps `value`.
    package init(_ value: Value) { self.value = value }
}
