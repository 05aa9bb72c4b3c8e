import CRMModel
import Foundation

/// How data is printed: `--format table|json|ndjson|csv`.
enum OutputFormat: String, CaseIterable, Sendable {
    case table, json, ndjson, csv
}

/// Buffered output to a file descriptor (standard output or a file), written with `write(2)`.
final class ByteSink {
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []

    /// `-` is standard output.
    init(path: String) throws {
        if path == "-" {
            descriptor = 1
            ownsDescriptor = false
        } else {
            descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw ToolError.io("cannot create \(path): \(String(cString: strerror(errno)))")
            }
            ownsDescriptor = true
        }
        buffer.reserveCapacity(1 << 20)
    }

    static var standardOutput: ByteSink { try! ByteSink(path: "-") }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }

    func line(_ text: String) {
        write(text)
        buffer.append(0x0A)
    }

    func flush() {
        var done = 0
        while done < buffer.count {
            let count = buffer.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + done, $0.count - done) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            done += count
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() {
        flush()
        if ownsDescriptor { Foundation.close(descriptor) }
    }
}

/// Rows of text with named columns, printed in any ``OutputFormat``.
struct Table {
    var columns: [String]
    var rows: [[String]] = []
    /// Columns whose values are numbers (right-aligned in tables, bare in JSON).
    var numeric: Set<String> = []

    /// Prints the table on standard output and flushes it.
    func printToStandardOutput(_ format: OutputFormat) {
        let sink = ByteSink.standardOutput
        print(format, to: sink)
        sink.close()
    }

    func print(_ format: OutputFormat, to sink: ByteSink) {
        switch format {
        case .table:
            let widths = columns.indices.map { column in
                rows.reduce(columns[column].count) { max($0, $1[column].count) }
            }
            func render(_ cells: [String]) -> String {
                cells.indices.map { column in
                    let padding = String(repeating: " ", count: widths[column] - cells[column].count)
                    return numeric.contains(columns[column]) ? padding + cells[column] : cells[column] + padding
                }.joined(separator: "  ").trimmingTrailingSpaces()
            }
            sink.line(render(columns))
            sink.line(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
            for row in rows { sink.line(render(row)) }
        case .csv:
            sink.line(columns.map(Self.csvField).joined(separator: ","))
            for row in rows { sink.line(row.map(Self.csvField).joined(separator: ",")) }
        case .json:
            sink.line("[")
            for (number, row) in rows.enumerated() {
                sink.line("  " + object(row) + (number == rows.count - 1 ? "" : ","))
            }
            sink.line("]")
        case .ndjson:
            for row in rows { sink.line(object(row)) }
        }
    }

    private func object(_ row: [String]) -> String {
        let members = columns.indices.map { column -> (String, JSONValue) in
            let value = row[column]
            if numeric.contains(columns[column]), !value.isEmpty, Double(value) != nil {
                return (columns[column], .number(value))
            }
            return (columns[column], value.isEmpty ? .null : .string(value))
        }
        return JSONWriter.string(.object(members.map { (key: $0.0, value: $0.1) }))
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}

/// Errors of the tool itself, printed on standard error.
enum ToolError: Error, CustomStringConvertible {
    case io(String)
    case usage(String)

    var description: String {
        switch self {
        case .io(let message), .usage(let message): message
        }
    }
}

/// An amount of `currency` in major units, exactly, with the currency's digits ("59.90"), as `Money` writes it.
func amountText(_ minorUnits: Int64, _ currency: String) -> String {
    Currency(currency).map { Money(minorUnits: minorUnits, currency: $0).jsonNumber } ?? String(minorUnits)
}

/// A fractional amount (an attributed share of a value, an average) in major units, rounded to the currency's
/// digits.
func amountText(_ minorUnits: Double, _ currency: String) -> String {
    let digits = Currency(currency)?.minorUnitDigits ?? 2
    return String(format: "%.\(digits)f", minorUnits / pow(10, Double(digits)))
}
