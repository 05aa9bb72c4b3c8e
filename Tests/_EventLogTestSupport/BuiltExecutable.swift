import Foundation

/// The path of an executable of this package built next to the test binary.
public func builtExecutable(_ name: String) -> String {
    let testBinary =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
    // swift test runs PackageTests.xctest from .build/<triple>/debug.
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) && directory.path != "/"
    {
        directory.deleteLastPathComponent()
    }
    return directory.appendingPathComponent(name).path
}

/// What a finished child process printed and how it ended.
public struct ProcessOutcome: Sendable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}

/// Runs an executable of this package to the end, with `input` on its standard input.
public func runBuilt(
    _ name: String,
    _ arguments: [String],
    input: [UInt8]? = nil,
    environment: [String: String]? = nil
) throws -> ProcessOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: builtExecutable(name))
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe()
    let errors = Pipe()
    let feed = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = input == nil ? FileHandle.nullDevice : feed
    try process.run()
    if let input {
        DispatchQueue.global().async {
            feed.fileHandleForWriting.write(Data(input))
            try? feed.fileHandleForWriting.close()
        }
    }
    // Read both pipes to the end before waiting, so that a full pipe cannot block the child.
    let errorData = SharedBox<Data>()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errorData.set(errors.fileHandleForReading.readDataToEndOfFile())
        group.leave()
    }
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessOutcome(
        status: process.terminationStatus,
        standardOutput: String(decoding: outputData, as: UTF8.self),
        standardError: String(decoding: errorData.get(), as: UTF8.self)
    )
}

/// A value shared with a background queue.
final class SharedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value?

    init() {}

    func set(_ newValue: Value) {
        lock.lock()
        value = newValue
        lock.unlock()
    }

    func get() -> Value {
        lock.lock()
        defer { lock.unlock() }
        return value!
    }
}
