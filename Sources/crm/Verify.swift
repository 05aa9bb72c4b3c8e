import ArgumentParser
import EventCRM
import EventLog
import Foundation

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every batch's checksum, the hash chain and the indexes; exit 3 on any problem.",
        discussion: """
            Keep the printed `head` (offset:hash) elsewhere; `crm verify --expect offset:hash` later proves that \
            nothing up to that offset changed.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var format: FormatOption
    @Option(help: "A head kept earlier, as offset:hash.") var expect: String?

    func run() async throws {
        let outputFormat = try format.value
        var checkpoint: (offset: Int64, hash: ChainHash)?
        if let expect {
            let parts = expect.split(separator: ":")
            guard parts.count == 2, let offset = Int64(parts[0]), let hash = ChainHash(hex: String(parts[1])) else {
                throw ValidationError("--expect takes offset:hash, as printed by crm verify")
            }
            checkpoint = (offset, hash)
        }
        let engine = try global.open(writing: false)
        let report = try engine.verify(checkpoint: checkpoint)
        await engine.close()
        var table = Table(columns: ["check", "result"])
        table.rows.append(["segments", String(report.log.segments)])
        table.rows.append(["batches", String(report.log.frames)])
        table.rows.append(["events", String(report.log.records)])
        table.rows.append(["segment indexes checked", String(report.log.indexesChecked)])
        if let matched = report.log.checkpointMatched {
            table.rows.append(["expected head", matched ? "matches" : "DIFFERS"])
        }
        table.rows.append(["head", "\(report.nextOffset):\(report.headHash)"])
        table.rows.append(["first problem", report.log.firstProblem?.description ?? "none"])
        table.rows.append([
            "damaged index files",
            report.damagedIndexFiles.isEmpty ? "none" : report.damagedIndexFiles.joined(separator: " "),
        ])
        table.printToStandardOutput(outputFormat)
        guard report.isValid else {
            warn("verification FAILED: \(report.log.firstProblem?.description ?? "damaged index files")")
            throw ExitCode(3)
        }
    }
}
