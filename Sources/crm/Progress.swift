import Foundation

/// A progress bar with rate and time left, on standard error, only when standard error is a terminal.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let unit: String
    private let enabled: Bool
    private let started = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private let lock = NSLock()

    init(label: String, unit: String = "MB") {
        self.label = label
        self.unit = unit
        self.enabled = isatty(2) == 1
    }

    /// Redraws at most ten times a second. `done` and `total` are in bytes.
    func update(label: String? = nil, done: Int64, total: Int64?) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        guard now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        let seconds = max(0.001, (now - started) / .seconds(1))
        let megabytes = Double(done) / 1e6
        let rate = megabytes / seconds
        var line = "\r\(label ?? self.label) "
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let filled = Int(fraction * 30)
            line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] "
            line += String(format: "%3.0f%% ", fraction * 100)
            let left = rate > 0 ? (Double(total) / 1e6 - megabytes) / rate : 0
            line += String(format: "%.1f %@/s, %.0f s left ", rate, unit, left)
        } else {
            line += String(format: "%.1f %@, %.1f %@/s ", megabytes, unit, rate, unit)
        }
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Clears the bar.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r" + String(repeating: " ", count: 100) + "\r").utf8))
    }
}
