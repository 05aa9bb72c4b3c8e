import ArgumentParser
import EventCRM

struct Forget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase a customer's personal data: destroy its keys, append customer.forgotten."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The customer id.") var customer: String

    func run() async throws {
        let engine = try global.open(writing: true)
        let result: CRMEngine.ForgetResult
        do {
            result = try await engine.forget(customer)
        } catch {
            await engine.close()
            throw error
        }
        await engine.close()
        print("forgot \(result.erasedIDs.joined(separator: ", ")); customer.forgotten at offset \(result.offset)")
    }
}
