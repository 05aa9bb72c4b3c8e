import Foundation

/// A fresh directory under the system's temporary directory, removed when the value is deinitialised.
public final class TemporaryDirectory: Sendable {
    /// The directory's path.
    public let path: String

    public init(_ label: String = "eventlog") {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        path = "\(base)/\(label)-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory.
    public func path(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The files under `path` (recursively) whose bytes contain `text`: for erasure tests.
public func filesContaining(_ text: String, under path: String) throws -> [String] {
    let needle = Array(text.utf8)
    var found = [String]()
    let walker = FileManager.default.enumerator(atPath: path)!
    while let name = walker.nextObject() as? String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory),
            !isDirectory.boolValue
        else { continue }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/" + name)))
        if bytes.firstRange(of: needle) != nil { found.append(name) }
    }
    return found
}
