import EventCRM
import _EventLogTestSupport

/// An engine opened in `directory`, holding the synthetic log of `customers` customers made from `seed`.
func syntheticEngine(in directory: TemporaryDirectory, customers: Int, seed: UInt64) async throws -> CRMEngine {
    let engine = try CRMEngine.open(at: directory.path)
    try await engine.append(contentsOf: Array(SyntheticData(.init(customers: customers, seed: seed))))
    return engine
}
