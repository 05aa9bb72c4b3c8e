// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "EventCRM",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "CRMModel", targets: ["CRMModel"]),
        .library(name: "EventCRM", targets: ["EventCRM"]),
        .library(name: "CRMGenerator", targets: ["CRMGenerator"]),
        .library(name: "CRMProjections", targets: ["CRMProjections"]),
        .executable(name: "crm", targets: ["crm"]),
        .executable(name: "eventlog-demo", targets: ["EventLogDemo"]),
        // Unstable: sample data and temporary directories for the demo, the tests and the benchmarks.
        .library(name: "_EventLogTestSupport", targets: ["_EventLogTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        // Debian's liblz4-dev through pkg-config; wrapped by `LZ4` in EventLog and never re-exported.
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // AES-256-GCM and SHA-256 from Debian's libssl-dev (libcrypto), each call with a context its thread keeps;
        // wrapped by `SHA256` in EventLog and `PersonalDataSealer` in EventCRM.
        .target(name: "CCrypto", linkerSettings: [.linkedLibrary("crypto")]),
        // CRC32C with the CPU's instruction where there is one; Swift cannot reach it portably.
        .target(name: "CCRC32C"),
        // Cache prefetch hints (one inline function); Swift has no way to give them.
        .target(name: "CMemoryHints"),
        // A lock ThreadSanitizer can see, shared by the log, the projections and the engine.
        .target(name: "Locking"),
        .target(
            name: "EventLog",
            dependencies: [
                "CLZ4",
                "CCRC32C",
                "CCrypto",
                "Locking",
            ]
        ),
        // The event catalog, ids, exact money, times, the JSON and binary codecs (docs/events.md). Knows no files.
        .target(name: "CRMModel"),
        .testTarget(name: "CRMModelTests", dependencies: ["CRMModel", "_EventLogTestSupport"]),
        // Projections: pure folds over events into serializable state (docs/projections.md). Knows no files.
        .target(
            name: "CRMProjections",
            dependencies: [
                "CRMModel", "CMemoryHints", "Locking",
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        .testTarget(name: "CRMProjectionsTests", dependencies: ["CRMProjections", "CRMModel", "_EventLogTestSupport"]),
        // Deterministic synthetic shop data using every event type (docs/synthetic-data.md): demo, tests, benchmarks.
        .target(name: "CRMGenerator", dependencies: ["CRMModel"]),
        // The engine façade users import: the directory, appends and ingest, history, erasure (docs/engine-directory.md).
        .target(
            name: "EventCRM",
            dependencies: [
                "EventLog", "CRMModel", "CRMProjections", "CCrypto", "Locking",
            ]
        ),
        .testTarget(
            name: "EventCRMTests",
            dependencies: ["EventCRM", "CRMModel", "CRMProjections", "_EventLogTestSupport"]
        ),
        // The command-line tool (docs/cli.md); knows only EventCRM's public API.
        .executableTarget(
            name: "crm",
            dependencies: [
                "EventCRM", "CRMModel", "CRMGenerator", "CRMProjections", "EventLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The log on its own: write, reopen, verify and describe a log of sample records.
        .executableTarget(
            name: "EventLogDemo",
            dependencies: ["EventLog", "_EventLogTestSupport"]
        ),
        // A child process for crash tests: appends and reports each acknowledged offset until killed.
        .executableTarget(
            name: "EventLogCrashWriter",
            dependencies: ["EventLog", "_EventLogTestSupport"],
            path: "Tests/EventLogCrashWriter"
        ),
        .target(
            name: "_EventLogTestSupport",
            dependencies: ["EventLog", "CRMModel", "CRMGenerator"],
            path: "Tests/_EventLogTestSupport"
        ),
        // End-to-end tests that run the built `crm`, including one that kills it during an ingest.
        .testTarget(
            name: "CRMToolTests",
            dependencies: ["crm", "EventCRM", "CRMModel", "_EventLogTestSupport"]
        ),
        .testTarget(
            name: "EventLogTests",
            dependencies: ["EventLog", "CLZ4", "CCrypto", "Locking", "_EventLogTestSupport", "EventLogCrashWriter"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system && !["CCRC32C", "CCrypto"].contains(target.name) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
