/// An ordered JSON object: custom properties, traits and changes, kept exactly as they came.
public struct JSONObject: Sendable, Hashable {
    public var members: [(key: String, value: JSONValue)]

    public init(_ members: [(key: String, value: JSONValue)] = []) {
        self.members = members
    }

    public var isEmpty: Bool { members.isEmpty }

    public subscript(key: String) -> JSONValue? { members.first { $0.key == key }?.value }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        JSONValue.object(lhs.members) == JSONValue.object(rhs.members)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(JSONValue.object(members)) }
}
