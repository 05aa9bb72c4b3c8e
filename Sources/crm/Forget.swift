import ArgumentParser
import EventCRM

struct Forget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase a customer's personal data: destroy its keys, append customer.forgotten."
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Leave the projections without a snapshot (the erasure deletes every one) until `crm rebuild`.")
    var noProjections = false
    @Argument(help: "The customer id.") var customer: String

    func run() async throws {
        let engine = try global.open(writing: true)
        // Read before the erasure deletes the snapshots, then saved again without the customer's personal fields.
        let upkeep = try await ProjectionUpkeep.beforeAppending(to: engine, unless: noProjections)
        let result: CRMEngine.ForgetResult
        do {
            result = try await engine.forget(customer)
        } catch {
            await engine.close()
            throw error
        }
        print("forgot \(result.erasedIDs.joined(separator: ", ")); customer.forgotten at offset \(result.offset)")
        // Without recent snapshots, a forget does not rebuild the whole log.
        for line in try upkeep?.bringToHead(rebuilding: false) ?? [] { print(line) }
        await engine.close()
    }
}
