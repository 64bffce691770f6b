/// Any value (a raw pointer) handed to `concurrentPerform` workers that use it without races.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
