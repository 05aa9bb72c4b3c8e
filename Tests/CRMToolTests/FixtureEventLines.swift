import Foundation

/// The `events` of a fixture file under `fixtures/` as NDJSON for `crm ingest -`, in time order (as-of cuts the log
/// where the first later event is).
func fixtureEventLines(_ path: String) throws -> [UInt8] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/" + path)
    let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    let events = (root["events"] as! [[String: Any]]).sorted { ($0["at"] as! String) < ($1["at"] as! String) }
    let lines = try events.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
    return Array((lines.joined(separator: "\n") + "\n").utf8)
}
