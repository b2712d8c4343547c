// swift-tools-version:6.0
import PackageDescription

/// Dependencies point one way: Services/Tools → Pipeline → Enhance/Media/Messaging/Store → Core → C shims.
let package = Package(
    name: "Reframe",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "reframe", targets: ["reframe"]),
        .executable(name: "Ingest", targets: ["Ingest"]),
        .executable(name: "Extractor", targets: ["Extractor"]),
        .executable(name: "Upscaler", targets: ["Upscaler"]),
        .executable(name: "Interpolator", targets: ["Interpolator"]),
        .executable(name: "Assembler", targets: ["Assembler"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // Tests only: reads compose/ and compose/k8s to keep them in step with the code.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // HTTP API: the OpenAPI document generates the server, Hummingbird serves it.
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C shims: headers plus the few helpers Swift cannot call directly (variadics, macros, tables).
        .target(name: "CRabbitMQ", path: "Libraries/CRabbitMQ", linkerSettings: [.linkedLibrary("rabbitmq")]),
        .target(name: "CHiredis", path: "Libraries/CHiredis", linkerSettings: [.linkedLibrary("hiredis")]),
        .target(
            name: "CFFmpeg", path: "Libraries/CFFmpeg",
            linkerSettings: ["avformat", "avcodec", "avutil", "swscale", "swresample", "avfilter"].map { .linkedLibrary($0) }),
        .target(name: "CZstd", path: "Libraries/CZstd", linkerSettings: [.linkedLibrary("zstd")]),
        .target(name: "CDNNL", path: "Libraries/CDNNL", linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),

        // Swift wrappers: each C library wrapped once; no C type crosses these APIs.
        // AMQP and Redis use Core only for fault classification and back-off.
        .target(name: "AMQP", dependencies: ["CRabbitMQ", "Core", .product(name: "Logging", package: "swift-log")], path: "Libraries/AMQP"),
        .target(name: "Redis", dependencies: ["CHiredis", "Core", .product(name: "Logging", package: "swift-log")], path: "Libraries/Redis"),
        .target(name: "Media", dependencies: ["Core", "CFFmpeg", "CZstd"], path: "Libraries/Media"),
        .target(name: "OneDNN", dependencies: ["CDNNL"], path: "Libraries/OneDNN"),

        // Neural runtime: model importers → graph IR → executor (oneDNN backend today).
        .target(name: "Neural", dependencies: ["OneDNN", "NeuralKernels", "ZIPFoundation"], path: "Libraries/Neural"),
        // Cache hints (non-temporal stores, prefetch) that Swift cannot express; header-only.
        .target(name: "CMemoryHints", path: "Libraries/CMemoryHints"),
        // Hand-written SIMD kernels, compiled for AVX-512 even in debug builds (unoptimised SIMD
        // code runs hundreds of times slower). Swift has no per-function target attribute, so the
        // whole module is built for the ISA and Neural calls it only after a runtime CPU check.
        .target(name: "NeuralKernels", dependencies: ["CMemoryHints"], path: "Libraries/NeuralKernels",
                swiftSettings: [.unsafeFlags(["-target-cpu", "skylake-avx512", "-O"])]),

        .target(name: "Core", path: "Libraries/Core"),
        .target(
            name: "Messaging",
            dependencies: ["Core", "AMQP", .product(name: "Logging", package: "swift-log")],
            path: "Libraries/Messaging"),
        .target(name: "Store", dependencies: ["Core", "Redis", "Media", .product(name: "Logging", package: "swift-log")], path: "Libraries/Store"),
        .target(
            name: "Enhance",
            dependencies: ["Core", "Media", "Neural", "OneDNN", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "Metrics", package: "swift-metrics")],
            path: "Libraries/Enhance"),
        .target(
            name: "Pipeline",
            dependencies: [
                "Core", "Messaging", "Store", "Media", "Enhance",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Libraries/Pipeline"),
        // The HTTP side of observability: /metrics, /healthz, /readyz on a port of each service.
        // Only the services link Hummingbird; the CLI and the harness do not.
        .target(
            name: "Observability",
            dependencies: ["Pipeline", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Libraries/Observability"),

        // The authenticated HTTP job API: server stubs generated at build time from openapi.yaml,
        // so the document and the server cannot drift.
        .target(
            name: "API",
            dependencies: [
                "Core", "Store", "Pipeline",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Libraries/API",
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]),

        .executableTarget(name: "Ingest", dependencies: ["Pipeline", "Observability", "API"], path: "Services/Ingest"),
        .executableTarget(name: "Extractor", dependencies: ["Pipeline", "Observability"], path: "Services/Extractor"),
        .executableTarget(name: "Upscaler", dependencies: ["Pipeline", "Observability"], path: "Services/Upscaler"),
        .executableTarget(name: "Interpolator", dependencies: ["Pipeline", "Observability"], path: "Services/Interpolator"),
        .executableTarget(name: "Assembler", dependencies: ["Pipeline", "Observability"], path: "Services/Assembler"),
        .executableTarget(
            name: "reframe",
            dependencies: ["Pipeline", "Harness", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/reframe"),

        // Runs the five services as processes against a real broker and store: the integration
        // tests and `reframe bench faults` drive the same cluster.
        // It also runs the fault scenarios (kill storm, restarts) and checks their results: the job's
        // keys in Redis (Store, Redis) and its pictures against a fault-free run (Media).
        .target(name: "Harness", dependencies: ["Core", "Store", "Redis", "Media", "Messaging", "Pipeline", .product(name: "Logging", package: "swift-log"),
                                                .product(name: "Crypto", package: "swift-crypto"),
                                                .product(name: "AsyncHTTPClient", package: "async-http-client")],
                path: "Libraries/Harness"),
        // Helpers shared by the test targets: clips made with libav, output inspection, PSNR.
        .target(name: "TestSupport", dependencies: ["Pipeline", "Media", "Core", "Harness"], path: "Tests/TestSupport"),
        .testTarget(name: "CoreTests", dependencies: ["Core"], path: "Tests/CoreTests"),
        .testTarget(name: "NeuralTests", dependencies: ["Neural", "OneDNN", "ZIPFoundation"], path: "Tests/NeuralTests",
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "EnhanceTests", dependencies: ["Enhance", "Neural", "OneDNN", "Core", "Media", "TestSupport"], path: "Tests/EnhanceTests",
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "MediaTests", dependencies: ["Media", "Enhance", "TestSupport"], path: "Tests/MediaTests"),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "AMQP", "Redis", "TestSupport", .product(name: "Yams", package: "Yams")], path: "Tests/PipelineTests"),
        .testTarget(name: "IntegrationTests", dependencies: ["Pipeline", "AMQP", "Redis", "TestSupport",
                                                            .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                            .product(name: "Crypto", package: "swift-crypto"),
                                                            .product(name: "NIOCore", package: "swift-nio"),
                                                            .product(name: "NIOHTTP1", package: "swift-nio")], path: "Tests/IntegrationTests"),
    ]
)
