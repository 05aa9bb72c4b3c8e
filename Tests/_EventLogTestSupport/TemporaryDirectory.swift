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
