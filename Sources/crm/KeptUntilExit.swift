import Foundation
import Synchronization

/// The projection states a command has read, kept until the process exits and never freed: the kernel takes the
/// memory back at once, where freeing a restored customer state object by object took a second or more at
/// 730,000 customers, after the answer was printed. `CRMCommand.main` ends the process with `exit` once a
/// command has run, so nothing else is torn down either.
enum KeptUntilExit {
    private static let kept = Mutex<[any Sendable]>([])

    /// Keeps `value` alive until the process exits, and returns it. Only for values nothing mutates afterwards (a
    /// kept value shares its storage, so a later mutation would copy it whole).
    static func keep<Value: Sendable>(_ value: Value) -> Value {
        kept.withLock { $0.append(value) }
        return value
    }
}
