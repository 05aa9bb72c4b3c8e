/// Why an event is invalid: the line (when it came from a file), the field and the reason.
///
/// The message names fields and rules, never the values of personal fields.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line number in the input file, when there is one.
    public var line: Int?
    /// The field concerned, as a path (`items[2].qty`), or nil for the line as a whole.
    public var field: String?
    /// What is wrong.
    public var reason: String

    public init(line: Int? = nil, field: String?, reason: String) {
        self.line = line
        self.field = field
        self.reason = reason
    }

    public var description: String {
        var text = line.map { "line \($0): " } ?? ""
        if let field { text += "field \"\(field)\": " }
        return text + reason
    }
}
