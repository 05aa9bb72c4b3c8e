public import CRMModel

/// Canonical forms of the collections projection states are made of: maps and sets in key order.
extension BinaryWriter {
    public mutating func int(_ value: Int64) { zigzag(value) }

    public mutating func optionalTime(_ time: EventTime?) {
        bool(time != nil)
        if let time { zigzag(time.microseconds) }
    }

    public mutating func map<Value>(_ map: [String: Value], _ value: (inout BinaryWriter, Value) -> Void) {
        varint(UInt64(map.count))
        // Most maps of a profile hold one entry or none: no need to sort, or to look the value up again.
        if map.count <= 1 {
            for (key, element) in map {
                string(key)
                value(&self, element)
            }
            return
        }
        // Sorting the keys alone moves less than sorting the pairs when values are large (whole profiles).
        for key in map.keys.sorted() {
            string(key)
            value(&self, map[key]!)
        }
    }

    public mutating func set(_ set: Set<String>) {
        varint(UInt64(set.count))
        if set.count <= 1 {
            for element in set { string(element) }
            return
        }
        for element in set.sorted() { string(element) }
    }

    public mutating func strings(_ strings: [String]) {
        varint(UInt64(strings.count))
        for element in strings { string(element) }
    }
}

extension BinaryReader {
    public mutating func int() throws(EventDecodingError) -> Int64 { try zigzag() }

    public mutating func optionalTime() throws(EventDecodingError) -> EventTime? {
        try bool() ? EventTime(microseconds: try zigzag()) : nil
    }

    public mutating func map<Value>(
        _ value: (inout BinaryReader) throws(EventDecodingError) -> Value
    ) throws(EventDecodingError) -> [String: Value] {
        let count = try count("map")
        var map = [String: Value](minimumCapacity: count)
        for _ in 0..<count {
            let key = try string()
            map[key] = try value(&self)
        }
        return map
    }

    public mutating func set() throws(EventDecodingError) -> Set<String> {
        let count = try count("set")
        var set = Set<String>(minimumCapacity: count)
        for _ in 0..<count { set.insert(try string()) }
        return set
    }

    public mutating func strings() throws(EventDecodingError) -> [String] {
        let count = try count("list")
        var strings = [String]()
        strings.reserveCapacity(count)
        for _ in 0..<count { strings.append(try string()) }
        return strings
    }
}
