import CCrypto
import EventLog
import Testing

/// The system libcrypto's AES-256-GCM and SHA-256 as the engine calls them (`CCrypto`), against published answers:
/// the sealed personal parts of logs written before the engine moved off swift-crypto are standard AES-256-GCM
/// (nonce, ciphertext, tag) and must keep opening.
@Suite("System libcrypto")
struct CryptoTests {
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map {
            UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    /// Seals `plain`, returning the ciphertext and the tag (nil when the library refuses).
    static func seal(key: [UInt8], nonce: [UInt8], aad: [UInt8], plain: [UInt8]) -> (sealed: [UInt8], tag: [UInt8])? {
        var sealed = [UInt8](repeating: 0, count: plain.count)
        var tag = [UInt8](repeating: 0, count: 16)
        let done = eventcrm_aes256gcm_seal(key, nonce, aad, aad.count, plain, plain.count, &sealed, &tag)
        return done == 1 ? (sealed, tag) : nil
    }

    /// Opens `sealed` (nil when the tag does not match).
    static func open(key: [UInt8], nonce: [UInt8], aad: [UInt8], sealed: [UInt8], tag: [UInt8]) -> [UInt8]? {
        var plain = [UInt8](repeating: 0, count: sealed.count)
        let done = eventcrm_aes256gcm_open(key, nonce, aad, aad.count, sealed, sealed.count, tag, &plain)
        return done == 1 ? plain : nil
    }

    // NIST SP 800-38D (the GCM specification), test case 16: AES-256, a 60-byte plaintext, 20 bytes of AAD.
    static let key = bytes("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
    static let nonce = bytes("cafebabefacedbaddecaf888")
    static let aad = bytes("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    static let plain = bytes(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
    )
    static let sealed =
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
    static let tag = "76fc6ece0f4e1768cddf8853bb2d551b"

    @Test("AES-256-GCM seals the specification's test case 16 to its ciphertext and tag, and opens it back")
    func specificationCase16() throws {
        let result = try #require(Self.seal(key: Self.key, nonce: Self.nonce, aad: Self.aad, plain: Self.plain))
        #expect(Self.hex(result.sealed) == Self.sealed)
        #expect(Self.hex(result.tag) == Self.tag)
        let opened = Self.open(
            key: Self.key,
            nonce: Self.nonce,
            aad: Self.aad,
            sealed: Self.bytes(Self.sealed),
            tag: Self.bytes(Self.tag)
        )
        #expect(opened == Self.plain)
    }

    @Test("AES-256-GCM refuses an altered ciphertext, tag, AAD or nonce, and another key")
    func refusals() {
        let sealed = Self.bytes(Self.sealed)
        let tag = Self.bytes(Self.tag)
        var alteredSealed = sealed
        alteredSealed[7] ^= 0x10
        var alteredTag = tag
        alteredTag[15] ^= 0x01
        var otherKey = Self.key
        otherKey[0] ^= 0x80
        var otherNonce = Self.nonce
        otherNonce[11] ^= 0x01
        #expect(Self.open(key: Self.key, nonce: Self.nonce, aad: Self.aad, sealed: alteredSealed, tag: tag) == nil)
        #expect(Self.open(key: Self.key, nonce: Self.nonce, aad: Self.aad, sealed: sealed, tag: alteredTag) == nil)
        #expect(
            Self.open(key: Self.key, nonce: Self.nonce, aad: Array(Self.aad.dropLast()), sealed: sealed, tag: tag)
                == nil
        )
        #expect(Self.open(key: Self.key, nonce: otherNonce, aad: Self.aad, sealed: sealed, tag: tag) == nil)
        #expect(Self.open(key: otherKey, nonce: Self.nonce, aad: Self.aad, sealed: sealed, tag: tag) == nil)
    }

    @Test("Opening tells a tag that does not match (0) from the library not trying (-1: a size beyond its int)")
    func failureKinds() {
        let sealed = Self.bytes(Self.sealed)
        // Room for the whole plaintext: the bytes are written before the tag is checked.
        var plain = [UInt8](repeating: 0, count: sealed.count)
        var tag = Self.bytes(Self.tag)
        tag[0] ^= 1
        #expect(
            eventcrm_aes256gcm_open(Self.key, Self.nonce, Self.aad, Self.aad.count, sealed, sealed.count, tag, &plain)
                == 0
        )
        // Refused before any byte is read: the count is checked first.
        let tooLong = Int(Int32.max) + 1
        #expect(
            eventcrm_aes256gcm_open(Self.key, Self.nonce, Self.aad, Self.aad.count, sealed, tooLong, tag, &plain) == -1
        )
        #expect(
            eventcrm_aes256gcm_open(Self.key, Self.nonce, Self.aad, tooLong, sealed, sealed.count, tag, &plain) == -1
        )
    }

    @Test("AES-256-GCM of nothing (test case 13: zero key and nonce) is the tag alone")
    func specificationCase13() throws {
        let zeroKey = [UInt8](repeating: 0, count: 32)
        let zeroNonce = [UInt8](repeating: 0, count: 12)
        let result = try #require(Self.seal(key: zeroKey, nonce: zeroNonce, aad: [], plain: []))
        #expect(result.sealed.isEmpty)
        #expect(Self.hex(result.tag) == "530f8afbc74536b9a963b4f1c4cb738b")
        #expect(Self.open(key: zeroKey, nonce: zeroNonce, aad: [], sealed: [], tag: result.tag) == [])
    }

    @Test("SHA-256 of parts is the SHA-256 of their concatenation (FIPS 180-2's \"abc\")")
    func sha256() {
        let abc = Array("abc".utf8)
        let whole = abc.withUnsafeBytes { SHA256.hash($0) }
        #expect(Self.hex(whole) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let parts = abc.withUnsafeBytes { bytes in
            SHA256.hash(
                UnsafeRawBufferPointer(rebasing: bytes[0..<1]),
                UnsafeRawBufferPointer(rebasing: bytes[1..<1]),
                UnsafeRawBufferPointer(rebasing: bytes[1...])
            )
        }
        #expect(parts == whole)
        #expect(Self.hex(SHA256.hash()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
