import EventCRM
import Foundation
import Testing
import _EventLogTestSupport

@Suite("Customer key store")
struct CustomerKeyStoreTests {
    static func bytes(_ key: CustomerKey) -> [UInt8] { key.withUnsafeBytes { Array($0) } }

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

    @Test("A reader never writes: a torn tail and an undone compaction stay in the file, and read as open reads them")
    func readerLeavesTheFile() throws {
        let directory = TemporaryDirectory("keys")
        let path = directory.path("keys")
        var kept = [UInt8]()
        do {
            let store = try CustomerKeyStore.open(directory: path)
            kept = Self.bytes(try #require(try store.key(for: "kept")))
            _ = try store.key(for: "forgotten")
            try store.forget(contentsOf: ["forgotten"], deferringCompaction: true)
            _ = try store.key(for: "torn")
        }
        let file = path + "/customer-keys"
        var bytes = [UInt8](FileManager.default.contents(atPath: file)!)
        bytes.removeLast(7)
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        let reader = try CustomerKeyStore.open(directory: path, readOnly: true)
        #expect([UInt8](FileManager.default.contents(atPath: file)!) == bytes, "neither cut nor compacted")
        #expect(reader.existingKey(for: "kept").map(Self.bytes) == kept)
        #expect(reader.existingKey(for: "forgotten") == nil && reader.isForgotten("forgotten"))
        #expect(reader.existingKey(for: "torn") == nil)
        let refused = #expect(throws: CustomerKeyStore.Failure.self) { try reader.key(for: "new") }
        #expect(refused?.reason.contains("read-only") == true)
        #expect(throws: CustomerKeyStore.Failure.self) { try reader.forget("kept") }
        #expect([UInt8](FileManager.default.contents(atPath: file)!) == bytes, "still untouched")
        let missing = directory.path("none")
        #expect(throws: CustomerKeyStore.Failure.self) { try CustomerKeyStore.open(directory: missing, readOnly: true) }
        #expect(!FileManager.default.fileExists(atPath: missing), "a reader creates nothing")
    }

    @Test(
        "A reader's refresh sees the writer's new keys, its forgets and its compactions",
        arguments: [false, true]
    )
    func readerRefresh(tableBuiltFirst: Bool) throws {
        let directory = TemporaryDirectory("keys")
        let path = directory.path("keys")
        let writer = try CustomerKeyStore.open(directory: path)
        _ = try writer.key(for: "c-1")
        _ = try writer.key(for: "c-2")
        let reader = try CustomerKeyStore.open(directory: path, readOnly: true)
        if tableBuiltFirst { #expect(reader.existingKey(for: "c-1") != nil) }
        let made = Self.bytes(try #require(try writer.key(for: "c-3")))
        try reader.refresh()
        #expect(reader.existingKey(for: "c-3").map(Self.bytes) == made, "a key made after the reader opened")
        // Synced, not compacted: the forgotten record is read from the file the reader has open.
        try writer.forget(contentsOf: ["c-1"], deferringCompaction: true)
        try reader.refresh()
        #expect(reader.existingKey(for: "c-1") == nil && reader.isForgotten("c-1"))
        // Compacted: the writer renamed a new file over the old one; later keys are only in the new one.
        try writer.forget("c-2")
        let after = Self.bytes(try #require(try writer.key(for: "c-4")))
        try reader.refresh()
        #expect(reader.existingKey(for: "c-2") == nil && reader.isForgotten("c-2"))
        #expect(reader.existingKey(for: "c-4").map(Self.bytes) == after, "read from the compacted file")
        #expect(reader.existingKey(for: "c-3").map(Self.bytes) == made)
        let later = Self.bytes(try #require(try writer.key(for: "c-5")))
        try reader.refresh()
        #expect(reader.existingKey(for: "c-5").map(Self.bytes) == later, "appended to the compacted file")
    }
}
