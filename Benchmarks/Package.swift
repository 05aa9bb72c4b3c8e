// swift-tools-version:6.1
import PackageDescription

import class Foundation.ProcessInfo
import struct Foundation.URL

// The root package is a path dependency; SwiftPM names it after its directory, whatever the clone is called.
let rootPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent

let package = Package(
    name: "EventCRMBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Paths, timing helpers and metrics shared by both benchmark executables.
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"), .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/BenchmarkSupport"
        ),
        // liblz4 itself, to measure the machine's own LZ4 speed on the same bytes as the log.
        .systemLibrary(name: "CLZ4Baseline", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .executableTarget(
            name: "EventLogBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                "BenchmarkSupport",
                .product(name: "EventLog", package: rootPackage),
                .product(name: "CRMModel", package: rootPackage),
                .product(name: "_EventLogTestSupport", package: rootPackage),
                .product(name: "GRDB", package: "GRDB.swift"),
                "CLZ4Baseline",
            ],
            path: "Benchmarks/EventLogBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "CRMEngineBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                "BenchmarkSupport",
                .product(name: "EventCRM", package: rootPackage),
                .product(name: "EventLog", package: rootPackage),
                .product(name: "CRMModel", package: rootPackage),
                .product(name: "CRMGenerator", package: rootPackage),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/CRMEngineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
