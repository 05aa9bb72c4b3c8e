/// The layout of one record inside a frame's uncompressed payload (docs/on-disk-format.md, section 3).
enum RecordLayout {
    static let headerSize = 24
    static let lengthFieldSize = 4
    /// Bytes counted by the record length field besides key, producer id and value.
    static let fixedLengthAfterLengthField = headerSize - lengthFieldSize

    /// Checks that `payload` holds exactly `count` well-formed records; returns why not, or nil.
    static func validate(_ payload: UnsafeRawBufferPointer, count: Int) -> String? {
        var position = 0
        for index in 0..<count {
            guard payload.count - position >= headerSize else {
                return "record \(index) header runs past the payload"
            }
            let length = Int(payload.le(position, as: UInt32.self))
            let keyLength = Int(payload.le(position + 16, as: UInt16.self))
            let producerLength = Int(payload[position + 18])
            let valueLength = Int(payload.le(position + 20, as: UInt32.self))
            guard payload[position + 19] == 0 else { return "record \(index) has non-zero reserved bits" }
            guard length == fixedLengthAfterLengthField + keyLength + producerLength + valueLength else {
                return "record \(index) length \(length) disagrees with its field lengths"
            }
            guard length <= payload.count - position - lengthFieldSize else {
                return "record \(index) runs past the payload"
            }
            position += lengthFieldSize + length
        }
        guard position == payload.count else { return "\(payload.count - position) bytes follow the last record" }
        return nil
    }
}
