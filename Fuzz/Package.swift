// swift-tools-version:6.1
import PackageDescription

import struct Foundation.URL

// A libFuzzer target for the batch decoder (docs/fuzzing.md). Its own package so that building with
// -sanitize=fuzzer never touches the main package's executables. Run: make fuzz FUZZ_SECONDS=600
let rootPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent

let package = Package(
    name: "EventCRMFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../")],
    targets: [
        .executableTarget(
            name: "FuzzBatchDecoder",
            dependencies: [.product(name: "EventLog", package: rootPackage)]
        )
    ],
    swiftLanguageModes: [.v6]
)
