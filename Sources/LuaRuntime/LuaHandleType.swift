/// A kind of handle: Swift objects of type `Object` seen from Lua as userdata with the metatable
/// `name` (`shears.Model`, `shears.Tensor`, ...).
///
/// Create the value once, register it with
/// ``LuaRuntime/register(_:methods:properties:length:call:describe:)``, then use it to return
/// handles (``LuaValue/handle(_:as:dependingOn:)``) and to check arguments (``LuaCall/handle(_:as:)``).
public struct LuaHandleType<Object: AnyObject>: Sendable, Hashable {
    /// The metatable name, also used in messages: "shears.Model expected, got nil".
    public let name: String

    /// Creates a handle type named `name`.
    public init(_ name: String) { self.name = name }
}

/// The state of the Swift object behind a handle.
enum HandleState {
    /// The object is alive.
    case open(AnyObject)
    /// The handle was closed (by `close()`, `<close>` or collection).
    case closed
    /// The owner handle was closed; carries the owner's type name.
    case expired(owner: String)
}

/// The Swift side of all handles of one runtime: ids to objects, ownership, and the live count.
///
/// Lua userdata hold only an id, never a pointer. Ids are never reused, so a stale handle can
/// only ever find "closed", never another object. Mutations never span a Lua call (a collection
/// triggered by an allocation can re-enter through `__gc`).
final class HandleTable {
    private struct Record {
        var object: AnyObject?
        let typeName: String
        var owner: Int64?
        var dependents: [Int64] = []
        var expiredBy: String?
    }

    private var records: [Int64: Record] = [:]
    private var nextID: Int64 = 1

    /// Handles whose object is still held (neither closed, expired nor collected).
    var liveCount: Int { records.values.reduce(0) { $0 + ($1.object == nil ? 0 : 1) } }

    /// Stores `object` and returns the new handle's id.
    func insert(_ object: AnyObject, typeName: String, owner: Int64?) -> Int64 {
        let id = nextID
        nextID += 1
        records[id] = Record(object: object, typeName: typeName, owner: owner)
        if let owner { records[owner]?.dependents.append(id) }
        return id
    }

    /// The state of handle `id`.
    func state(of id: Int64) -> HandleState {
        guard let record = records[id] else { return .closed }
        if let object = record.object { return .open(object) }
        if let owner = record.expiredBy { return .expired(owner: owner) }
        return .closed
    }

    /// The type name of handle `id`, if it is known.
    func typeName(of id: Int64) -> String? { records[id]?.typeName }

    /// Closes handle `id`: releases its object and expires its dependents (recursively).
    func close(_ id: Int64) {
        var released: [AnyObject] = [] // released after the table is consistent
        release(id, expiredBy: nil, into: &released)
    }

    /// Forgets handle `id` (its userdata was collected), releasing the object if still held.
    func remove(_ id: Int64) {
        close(id)
        guard let record = records.removeValue(forKey: id) else { return }
        if let owner = record.owner { records[owner]?.dependents.removeAll { $0 == id } }
        for dependent in record.dependents { records[dependent]?.owner = nil }
    }

    private func release(_ id: Int64, expiredBy: String?, into released: inout [AnyObject]) {
        guard let record = records[id], let object = record.object else { return }
        released.append(object)
        records[id]?.object = nil
        records[id]?.expiredBy = expiredBy
        for dependent in record.dependents {
            release(dependent, expiredBy: record.typeName, into: &released)
        }
    }
}
