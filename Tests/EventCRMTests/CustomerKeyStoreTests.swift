import Crypto
import EventCRM
import Foundation
import Testing
import _EventLogTestSupport

@Suite("Customer key store")
struct CustomerKeyStoreTests {
    static func bytes(_ key: SymmetricKey) -> [UInt8] { key.withUnsafeBytes { Array($0) } }

    @Test("Keys survive reopening; forgetting destroys a key durably and removes its bytes from the file")
    func keysAndForgetting() throws {
        let directory = TemporaryDirectory("keys")
        let path = directory.path("keys")
        var originals = [String: [UInt8]]()
        do {
            let store = try CustomerKeyStore.open(directory: path)
            for number in 0..<50 {
                originals["c-\(number)"] = Self.bytes(try #require(try store.key(for: "c-\(number)")))
            }
            #expect(Self.bytes(try #require(try store.key(for: "c-7"))) == originals["c-7"], "the same key twice")
            try store.forget("c-7")
            #expect(try store.key(for: "c-7") == nil)
            #expect(store.isForgotten("c-7"))
        }
        let reopened = try CustomerKeyStore.open(directory: path)
        for number in 0..<50 where number != 7 {
            #expect(reopened.existingKey(for: "c-\(number)").map(Self.bytes) == originals["c-\(number)"])
        }
        #expect(reopened.existingKey(for: "c-7") == nil && reopened.isForgotten("c-7"))
        let file = [UInt8](FileManager.default.contents(atPath: path + "/customer-keys")!)
        #expect(file.firstRange(of: originals["c-7"]!) == nil, "the forgotten key's bytes are gone from the file")
        #expect(file.firstRange(of: originals["c-8"]!) != nil)
        let mode = try FileManager.default.attributesOfItem(atPath: path + "/customer-keys")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o700)
    }

    @Test("Open finishes a compaction left undone (a crash after a forgotten record): the key's bytes leave the file")
    func openCompacts() throws {
        let directory = TemporaryDirectory("keys")
        let path = directory.path("keys")
        var originals = [String: [UInt8]]()
        do {
            let store = try CustomerKeyStore.open(directory: path)
            for number in 0..<20 {
                originals["c-\(number)"] = Self.bytes(try #require(try store.key(for: "c-\(number)")))
            }
            // Synced but not compacted, as when a crash comes between the two.
            try store.forget(contentsOf: ["c-3"], deferringCompaction: true)
        }
        let contents = { [UInt8](FileManager.default.contents(atPath: path + "/customer-keys")!) }
        #expect(contents().firstRange(of: originals["c-3"]!) != nil, "still in the file before the next open")
        let reopened = try CustomerKeyStore.open(directory: path)
        #expect(contents().firstRange(of: originals["c-3"]!) == nil, "open compacted")
        #expect(reopened.existingKey(for: "c-3") == nil && reopened.isForgotten("c-3"))
        for number in 0..<20 where number != 3 {
            #expect(reopened.existingKey(for: "c-\(number)").map(Self.bytes) == originals["c-\(number)"])
        }
    }

    @Test("Open leaves a file with nothing to compact as it is, and its keys read back", arguments: [false, true])
    func openWithoutCompaction(forgetFirst: Bool) throws {
        let directory = TemporaryDirectory("keys")
        let path = directory.path("keys")
        var original = [UInt8]()
        do {
            let store = try CustomerKeyStore.open(directory: path)
            // Forgotten before any key was made for it: its record follows no key of its own.
            if forgetFirst { try store.forget(contentsOf: ["c-9"], deferringCompaction: true) }
            original = Self.bytes(try #require(try store.key(for: "c-1")))
        }
        let before = FileManager.default.contents(atPath: path + "/customer-keys")!
        let reopened = try CustomerKeyStore.open(directory: path)
        #expect(FileManager.default.contents(atPath: path + "/customer-keys")! == before, "not rewritten")
        #expect(reopened.existingKey(for: "c-1").map(Self.bytes) == original)
        #expect(reopened.isForgotten("c-9") == forgetFirst && reopened.existingKey(for: "c-9") == nil)
    }

    @Test("A torn last record is cut at open; every whole record is kept", arguments: [1, 5, 20, 40])
    func tornRecord(cut: Int) throws {
        let directory = TemporaryDirectory("keys")
        let path = directory.path("keys")
        let kept: [UInt8]
        do {
            let store = try CustomerKeyStore.open(directory: path)
            kept = Self.bytes(try #require(try store.key(for: "kept")))
            _ = try store.key(for: "torn")
        }
        let file = path + "/customer-keys"
        var bytes = [UInt8](FileManager.default.contents(atPath: file)!)
        bytes.removeLast(cut)
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        let store = try CustomerKeyStore.open(directory: path)
        #expect(store.existingKey(for: "kept").map(Self.bytes) == kept)
        #expect(store.existingKey(for: "torn") == nil)
        _ = try store.key(for: "new")
        let again = try CustomerKeyStore.open(directory: path)
        #expect(again.existingKey(for: "new") != nil && again.existingKey(for: "kept").map(Self.bytes) == kept)
    }

    @Test("A store whose creation was cut short is created afresh")
    func cutHeader() throws {
        let directory = TemporaryDirectory("keys")
        let path = directory.path("keys")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path + "/customer-keys", contents: Data("EVCRM".utf8))
        let store = try CustomerKeyStore.open(directory: path)
        _ = try store.key(for: "c")
        #expect(try CustomerKeyStore.open(directory: path).existingKey(for: "c") != nil)
    }

    @Test("A file that is not a key store is refused with its name")
    func notAKeyStore() throws {
        let directory = TemporaryDirectory("keys")
        let path = directory.path("keys")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(
            atPath: path + "/customer-keys",
            contents: Data("hello, world, not keys".utf8)
        )
        let failure = #expect(throws: CustomerKeyStore.Failure.self) { try CustomerKeyStore.open(directory: path) }
        #expect(failure?.file.hasSuffix("customer-keys") == true)
    }
}
